# Finds LibTorch and decides the C++ standard and CUDA support from it.
#
# LibTorch comes from the PyTorch wheel that scripts/bootstrap.sh installs
# into the project's virtual environment (.venv/); CMake asks that Python for
# torch.utils.cmake_prefix_path. A LibTorch named with -DCMAKE_PREFIX_PATH or
# -DTorch_DIR is searched first, so another LibTorch (>= 2.7) can be used.
#
# Sets: INFERD_PYTHON (the interpreter every Python script of the project
# runs on), TORCH_LIBRARIES, CMAKE_CXX_STANDARD, INFERD_TORCH_HAS_CUDA.

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
# /usr/local/cuda, outside the default search path.
if(NOT DEFINED CUDAToolkit_ROOT AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CUDAToolkit_ROOT /usr/local/cuda)
endif()

find_package(Torch REQUIRED)
if(Torch_VERSION VERSION_LESS 2.7)
  message(FATAL_ERROR
    "inferd needs LibTorch 2.7 or later (found ${Torch_VERSION} in ${Torch_DIR}): "
    "earlier wheels use the pre-C++11 std::string ABI, which cannot link with "
    "Debian's gRPC and Protobuf")
endif()

# LibTorch's headers say which standard they need: 2.10 and later stop with
# "#error C++20 or later compatible compiler is required".
list(GET TORCH_INCLUDE_DIRS 0 torch_include)
file(STRINGS ${torch_include}/ATen/ATen.h aten_needs_cxx20 REGEX "C\\+\\+20 or later")
if(aten_needs_cxx20)
  set(CMAKE_CXX_STANDARD 20)
else()
  set(CMAKE_CXX_STANDARD 17)
endif()

# inferd::torch links LibTorch's own libraries and nothing else. TorchConfig's
# TORCH_LIBRARIES would also link the CUDA toolkit's libcudart and libnvrtc
# (from /usr/local/cuda) beside the wheel's, and put the toolkit on the
# executables' run path, where the linker then finds the toolkit's older
# NCCL instead of the one libtorch_cuda.so was built against.
get_filename_component(torch_lib_dir ${TORCH_LIBRARY} DIRECTORY)
add_library(inferd_torch_libs INTERFACE)
target_include_directories(inferd_torch_libs SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
target_compile_options(inferd_torch_libs INTERFACE ${TORCH_CXX_FLAGS})
find_library(INFERD_TORCH_CPU torch_cpu PATHS ${torch_lib_dir} NO_DEFAULT_PATH REQUIRED)
find_library(INFERD_C10 c10 PATHS ${torch_lib_dir} NO_DEFAULT_PATH REQUIRED)
target_link_libraries(inferd_torch_libs INTERFACE
  ${TORCH_LIBRARY} ${INFERD_TORCH_CPU} ${INFERD_C10})
find_library(INFERD_TORCH_CUDA torch_cuda PATHS ${torch_lib_dir} NO_DEFAULT_PATH)
if(INFERD_TORCH_CUDA)
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
message(STATUS "inferd: LibTorch ${Torch_VERSION} (${Torch_DIR}), C++${CMAKE_CXX_STANDARD}, CUDA ${INFERD_TORCH_HAS_CUDA}")
