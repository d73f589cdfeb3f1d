#ifndef INFERD_MODEL_STORE_BACKENDS_TORCH_COMMON_H_
#define INFERD_MODEL_STORE_BACKENDS_TORCH_COMMON_H_

// What the TorchScript and AOTInductor backends share: the data-type table,
// LibTorch's error text, wrapping request bytes as tensors and results as
// inferd Tensors, and the devices an instance_group asks for. Only the
// backends include this (it pulls in LibTorch's headers).

#include <ATen/ATen.h>
#include <c10/core/Device.h>
#include <c10/core/InferenceMode.h>
#ifdef INFERD_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model_store/model.h"
#include "proto/model_config.pb.h"

namespace inferd::torch_backend {

// The LibTorch element type of a config data type; nullopt for the types
// LibTorch cannot compute with (UINT16/32/64, STRING).
std::optional<at::ScalarType> ToScalarType(inference::DataType type);

// The config data type of a LibTorch element type; TYPE_INVALID when none.
inference::DataType FromScalarType(at::ScalarType type);

// The input element types of `config`, in config order. Errors:
// InvalidArgument naming the input whose data_type LibTorch lacks.
absl::StatusOr<std::vector<at::ScalarType>> InputTypes(
    const inference::ModelConfig& config);

// The message of an exception LibTorch threw, without the C++ backtrace that
// c10::Error appends (frames and library load addresses help nobody reading
// a load failure, and do not belong in answers to clients).
std::string ErrorText(const std::exception& e);

// The k of a Triton-style "NAME__k" tensor name, if it has that form.
std::optional<int> IndexSuffix(const std::string& name);

// `input`'s bytes as a tensor of `type`, without copying (the model only
// reads it); on another device, one copy there (non-blocking on the current
// stream).
at::Tensor WrapInput(const Tensor& input, at::ScalarType type,
                     const c10::Device& device);

// `output` as an inferd Tensor: on the CPU, contiguous, owning its storage.
// Errors: Internal when its element type has no config equivalent.
absl::StatusOr<Tensor> OwnOutput(const at::Tensor& output);

// Path of the model file: `version_dir`/<default_model_filename, or
// `default_name` when the config leaves it empty>. NotFound, with one
// message, when it is missing or leads (through "..", or a symbolic link)
// out of the model's directory (the parent of `version_dir`).
absl::StatusOr<std::string> ModelFilePath(const inference::ModelConfig& config,
                                          const std::string& version_dir,
                                          const std::string& default_name);

// One device per execution instance, from the config's instance groups:
// KIND_CPU gives `count` CPU instances, KIND_GPU `count` per listed GPU (every
// GPU when none are listed), KIND_AUTO the kind `auto_kind` says.
// Errors: InvalidArgument naming the group when a GPU is asked for and this
// build or machine has none, or a listed GPU does not exist.
absl::StatusOr<std::vector<c10::Device>> ResolveDevices(
    const inference::ModelConfig& config,
    inference::ModelInstanceGroup::Kind auto_kind);

// Where one execution instance runs: its device and, on a GPU, a CUDA stream
// of its own from LibTorch's pool, so instances on one GPU overlap.
class Placement {
 public:
  explicit Placement(c10::Device device);

  const c10::Device& device() const { return device_; }

  // The instance's stream as a cudaStream_t; nullptr on the CPU.
  void* stream_handle() const;

  // Makes the placement's stream the current one for its lifetime, so copies
  // in, the forward pass and copies out all go on it (on the CPU: nothing).
  class Guard {
   public:
    explicit Guard(const Placement& placement);

   private:
#ifdef INFERD_WITH_CUDA
    std::optional<c10::cuda::CUDAStreamGuard> guard_;
#endif
  };

 private:
  c10::Device device_;
#ifdef INFERD_WITH_CUDA
  std::optional<c10::cuda::CUDAStream> stream_;
#endif
};

// What every forward pass runs under, for its lifetime: the configured
// intra-op threads (UseIntraOpThreads), c10::InferenceMode (no autograd
// state), and the instance's stream (copies in, the pass and copies out all
// go on it, and a blocking copy out waits for that stream alone).
class ForwardScope {
 public:
  explicit ForwardScope(const Placement& placement);

 private:
  c10::InferenceMode inference_mode_;
  Placement::Guard on_stream_;
};

// The batch's inputs as tensors on `device`, at the model's argument
// positions: input i of the config goes to positions[i], as types[i].
std::vector<at::Tensor> WrapInputs(const std::vector<Tensor>& inputs,
                                   const std::vector<at::ScalarType>& types,
                                   const std::vector<int>& positions,
                                   const c10::Device& device);

// KIND_GPU where this build has CUDA and a GPU is present, else KIND_CPU.
inference::ModelInstanceGroup::Kind DefaultAutoKind();

// Gives the calling thread LibTorch's configured intra-op thread count. The
// count is an OpenMP setting of each thread: at::set_num_threads changes only
// the caller's, and a thread LibTorch did not start (a batch worker) would
// otherwise run OpenMP and MKL with one thread per core, whatever
// --intra-op-threads says. Cheap; call it before every forward pass.
void UseIntraOpThreads();

// Applies the config's INTRA_OP_THREAD_COUNT / INTER_OP_THREAD_COUNT
// parameters (Triton's names) to LibTorch's process-wide pools.
void ApplyThreadParameters(const inference::ModelConfig& config);

}  // namespace inferd::torch_backend

#endif  // INFERD_MODEL_STORE_BACKENDS_TORCH_COMMON_H_
