# Finds LibTorch and decides the C++ standard and CUDA support from it.
#
# LibTorch comes from the PyTorch wheel that scripts/bootstrap.sh installs
# into the project's virtual environment (.venv/); CMake asks that Python for
# torch.utils.cmake_prefix_path. A LibTorch named with -DCMAKE_PREFIX_PATH or
# -DTorch_DIR is searched first, so another LibTorch (>= 2.7) can be used.
#
# Sets: INFERD_PYTHON (the interpreter every Python script of the project
# runs on), CMAKE_CXX_STANDARD, INFERD_TORCH_HAS_CUDA, INFERD_TORCH_HAS_AOTI,
# and the target inferd_torch_libs.

set(INFERD_PYTHON ${CMAKE_SOURCE_DIR}/.venv/bin/python CACHE FILEPATH
    "Python interpreter with the project's pinned torch (made by scripts/bootstrap.sh)")

if(EXISTS ${INFERD_PYTHON})
  execute_process(
    COMMAND ${INFERD_PYTHON} -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE venv_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE venv_torch_result ERROR_QUIET)
  if(venv_torch_result EQUAL 0)
    # Appended, so a LibTorch the user names comes first.
    list(APPEND CMAKE_PREFIX_PATH ${venv_torch_prefix})
  endif()
endif()

# A CUDA LibTorch looks for the CUDA toolkit; Debian's CUDA 13 lives in
# /usr/local/cuda, outside the default search path. Without one,
# scripts/bootstrap.sh installs PyPI's nvcc into .cuda/.
if(NOT DEFINED CUDAToolkit_ROOT AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CUDAToolkit_ROOT /usr/local/cuda)
elseif(NOT DEFINED CUDAToolkit_ROOT AND NOT DEFINED CUDA_TOOLKIT_ROOT_DIR
       AND EXISTS ${CMAKE_SOURCE_DIR}/.cuda/nvidia/cu13/bin/nvcc)
  set(CUDAToolkit_ROOT ${CMAKE_SOURCE_DIR}/.cuda/nvidia/cu13)
  set(CUDA_TOOLKIT_ROOT_DIR ${CMAKE_SOURCE_DIR}/.cuda/nvidia/cu13)
  set(CMAKE_CUDA_COMPILER ${CMAKE_SOURCE_DIR}/.cuda/nvidia/cu13/bin/nvcc)
endif()

# With Torch_DIR named, TorchConfig's own find_package(Caffe2) would still
# search CMAKE_PREFIX_PATH (the venv's) first: point it beside Torch_DIR.
if(DEFINED Torch_DIR AND NOT DEFINED Caffe2_DIR AND EXISTS ${Torch_DIR}/../Caffe2)
  set(Caffe2_DIR ${Torch_DIR}/../Caffe2)
endif()
find_package(Torch REQUIRED)
if(Torch_VERSION VERSION_LESS 2.6)
  message(FATAL_ERROR
    "inferd needs LibTorch 2.6 or later (found ${Torch_VERSION} in ${Torch_DIR})")
endif()
if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  message(FATAL_ERROR
    "the LibTorch in ${Torch_DIR} uses the pre-C++11 std::string ABI "
    "(PyTorch wheels before 2.7 do); Debian's gRPC and Protobuf use the C++11 "
    "ABI, so inferd cannot link with it. Use a LibTorch built with "
    "_GLIBCXX_USE_CXX11_ABI=1 (wheels from 2.7 on, Debian's libtorch-dev).")
endif()

# LibTorch's headers say which standard they need: 2.14's stop with
# "#error C++20 or later compatible compiler is required"; older ones build
# with C++17.
list(GET TORCH_INCLUDE_DIRS 0 torch_include)
file(STRINGS ${torch_include}/ATen/ATen.h aten_needs_cxx20 REGEX "C\\+\\+20 or later")
if(aten_needs_cxx20)
  set(CMAKE_CXX_STANDARD 20)
else()
  set(CMAKE_CXX_STANDARD 17)
endif()

# inferd_torch_libs links LibTorch's own libraries and nothing else. TorchConfig's
# TORCH_LIBRARIES would also link the CUDA toolkit's libcudart and libnvrtc
# (from /usr/local/cuda) beside the wheel's, and put the toolkit on the
# executables' run path, where the linker then finds the toolkit's older
# NCCL instead of the one libtorch_cuda.so was built against.
get_filename_component(torch_lib_dir ${TORCH_LIBRARY} DIRECTORY)
add_library(inferd_torch_libs INTERFACE)

# The wheel's include/ also carries the Protobuf headers LibTorch was built
# with (3.21.12 in 2.14, the same as Debian 12's; 3.13 in 2.8 to 2.10). Code
# that includes both LibTorch and inferd's generated *.pb.h must see only
# Debian's, so it gets LibTorch's include tree without google/: a directory
# of links to every other entry.
set(torch_include_view ${CMAKE_BINARY_DIR}/torch_include)
file(REMOVE_RECURSE ${torch_include_view})
file(MAKE_DIRECTORY ${torch_include_view})
file(GLOB torch_include_entries RELATIVE ${torch_include} ${torch_include}/*)
foreach(entry ${torch_include_entries})
  if(NOT entry STREQUAL "google")
    file(CREATE_LINK ${torch_include}/${entry} ${torch_include_view}/${entry} SYMBOLIC)
  endif()
endforeach()
list(REMOVE_AT TORCH_INCLUDE_DIRS 0)
target_include_directories(inferd_torch_libs SYSTEM INTERFACE
  ${torch_include_view} ${TORCH_INCLUDE_DIRS})
target_compile_options(inferd_torch_libs INTERFACE ${TORCH_CXX_FLAGS})
find_library(INFERD_TORCH_CPU torch_cpu PATHS ${torch_lib_dir} NO_DEFAULT_PATH REQUIRED)
find_library(INFERD_C10 c10 PATHS ${torch_lib_dir} NO_DEFAULT_PATH REQUIRED)
option(INFERD_CUDA "Run KIND_GPU instances when LibTorch has CUDA (OFF: a CPU-only server)" ON)
find_library(INFERD_TORCH_CUDA torch_cuda PATHS ${torch_lib_dir} NO_DEFAULT_PATH)
# A CUDA wheel's libtorch.so needs libtorch_cuda.so and with it the wheel's
# whole CUDA stack (cuBLAS, cuDNN, NCCL, ...): a CPU-only server leaves it out.
if(INFERD_TORCH_CUDA AND INFERD_CUDA)
  target_link_libraries(inferd_torch_libs INTERFACE ${TORCH_LIBRARY})
endif()
target_link_libraries(inferd_torch_libs INTERFACE ${INFERD_TORCH_CPU} ${INFERD_C10})
if(INFERD_TORCH_CUDA AND INFERD_CUDA)
  set(INFERD_TORCH_HAS_CUDA ON)
  find_library(INFERD_C10_CUDA c10_cuda PATHS ${torch_lib_dir} NO_DEFAULT_PATH REQUIRED)
  # c10/cuda headers include the CUDA runtime's headers (the toolkit's).
  find_package(CUDAToolkit REQUIRED)
  target_include_directories(inferd_torch_libs SYSTEM INTERFACE ${CUDAToolkit_INCLUDE_DIRS})
  # c10's inline CUDA helpers call the CUDA runtime: link the one LibTorch
  # itself loads (the wheel's, beside it), else the toolkit's.
  find_library(INFERD_CUDART NAMES cudart libcudart.so.13 libcudart.so.12
    PATHS ${torch_lib_dir}/../../nvidia/cu13/lib
          ${torch_lib_dir}/../../nvidia/cuda_runtime/lib
    NO_DEFAULT_PATH)
  if(NOT INFERD_CUDART)
    set(INFERD_CUDART CUDA::cudart)
  endif()
  # Nothing in inferd calls into libtorch_cuda.so, but loading it is what
  # registers the CUDA device with LibTorch: keep it even with --as-needed.
  target_link_libraries(inferd_torch_libs INTERFACE
    "-Wl,--no-as-needed" ${INFERD_TORCH_CUDA} ${INFERD_C10_CUDA} "-Wl,--as-needed"
    ${INFERD_CUDART})
  target_compile_definitions(inferd_torch_libs INTERFACE INFERD_WITH_CUDA)
else()
  set(INFERD_TORCH_HAS_CUDA OFF)
endif()
# .pt2 packages: AOTIModelPackageLoader with load_metadata_from_package and
# a device index (LibTorch 2.10 and later).
set(aoti_header ${torch_include}/torch/csrc/inductor/aoti_package/model_package_loader.h)
set(INFERD_TORCH_HAS_AOTI OFF)
if(EXISTS ${aoti_header})
  file(READ ${aoti_header} aoti_api)
  if(aoti_api MATCHES "load_metadata_from_package" AND aoti_api MATCHES "device_index")
    set(INFERD_TORCH_HAS_AOTI ON)
    target_compile_definitions(inferd_torch_libs INTERFACE INFERD_WITH_AOTI)
  endif()
endif()
message(STATUS "inferd: LibTorch ${Torch_VERSION} (${Torch_DIR}), C++${CMAKE_CXX_STANDARD}, "
               "CUDA ${INFERD_TORCH_HAS_CUDA}, .pt2 packages ${INFERD_TORCH_HAS_AOTI}")
