#include "model_store/servable_model.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/usable_cpus.h"
#include "model_store/data_type.h"
#include "model_store/model_config.h"
#include "model_store/output_encoding.h"
#include "model_store/request_validator.h"
#include "model_store/scheduler_options.h"

namespace inferd {

// A queued request: owns the request (whose tensors the validated view points
// into) and its callback.
class ServableModel::Task final : public batching::BatchTask {
 public:
  Task(ServableModel* owner, InferRequest request, InferCallback done,
       absl::Time enqueued)
      : owner_(owner),
        request_(std::move(request)),
        done_(std::move(done)),
        enqueued_(enqueued) {}

  int64_t rows() const override { return validated_.rows; }
  uint64_t shape_key() const override { return validated_.shape_key; }
  absl::Time deadline() const override { return request_.deadline; }
  uint64_t priority() const override { return request_.priority; }
  absl::Duration timeout() const override { return request_.timeout; }
  bool cancelled() const override {
    return request_.cancelled != nullptr &&
           request_.cancelled->load(std::memory_order_relaxed);
  }
  void Fail(const absl::Status& status) override { Answer(status); }

  void Answer(absl::StatusOr<InferResponse> response) {
    owner_->accounting_.OnAnswered(request_.protocol, response.status().code(),
                                   owner_->clock_->Now() - enqueued_);
    done_(std::move(response));
  }

  const InferRequest& request() const { return request_; }
  absl::Time enqueued() const { return enqueued_; }
  ValidatedRequest& validated() { return validated_; }
  const ValidatedRequest& validated() const { return validated_; }

 private:
  ServableModel* const owner_;
  const InferRequest request_;
  ValidatedRequest validated_;
  InferCallback done_;
  const absl::Time enqueued_;
};

absl::StatusOr<std::unique_ptr<ServableModel>> ServableModel::Create(
    Options options, std::unique_ptr<Model> model) {
  Clock* clock = options.clock != nullptr ? options.clock : RealClock();
  const bool start_workers = options.start_workers;
  batching::WorkerPools* pools = options.pools;
  std::unique_ptr<ServableModel> servable(
      new ServableModel(std::move(options), std::move(model)));
  ServableModel* self = servable.get();
  batching::BatchSchedulerOptions scheduler_options =
      SchedulerOptionsFromConfig(self->config_, self->display_name_);
  // At most one batch at a time on each execution instance.
  const int instances = self->model_->instance_count();
  scheduler_options.num_workers = instances;
  // The adaptive delay asks whether the CPUs are saturated; only on the real
  // clock (a test's simulated one does not pass with the CPU time).
  if (clock == RealClock()) {
    scheduler_options.process_cpu_time = ProcessCpuTime;
    scheduler_options.usable_cpus = UsableCpus();
  }
  auto processor = [self](int worker, const batching::Batch& batch) {
    self->ExecuteBatch(worker, batch);
  };
  absl::StatusOr<std::unique_ptr<batching::BatchScheduler>> scheduler;
  if (pools != nullptr && start_workers) {
    std::vector<batching::WorkerPool*> instance_pools;
    instance_pools.reserve(instances);
    for (int i = 0; i < instances; ++i) {
      instance_pools.push_back(
          pools->ForDevice(self->model_->instance_device(i)));
    }
    scheduler = batching::BatchScheduler::Create(std::move(scheduler_options),
                                                 std::move(processor), clock,
                                                 std::move(instance_pools));
  } else {
    scheduler = batching::BatchScheduler::Create(std::move(scheduler_options),
                                                 std::move(processor), clock,
                                                 start_workers);
  }
  if (!scheduler.ok()) return scheduler.status();
  servable->scheduler_ = std::move(*scheduler);
  return servable;
}

ServableModel::ServableModel(Options options, std::unique_ptr<Model> model)
    : config_(std::move(options.config)),
      version_(options.version),
      display_name_(absl::StrCat(config_.name(), ":", version_)),
      labels_(std::move(options.labels)),
      model_(std::move(model)),
      clock_(options.clock != nullptr ? options.clock : RealClock()),
      accounting_(options.metrics) {
  if (options.metrics != nullptr) {
    options.metrics->SetQueueCapacity(batching::QueueCapacity(
        SchedulerOptionsFromConfig(config_, display_name_).queue));
  }
}

void ServableModel::Infer(InferRequest request, InferCallback done) {
  auto task = std::make_unique<Task>(this, std::move(request), std::move(done),
                                     clock_->Now());
  absl::StatusOr<ValidatedRequest> validated =
      ValidateRequest(config_, task->request());
  if (!validated.ok()) {
    task->Fail(validated.status());
    return;
  }
  task->validated() = std::move(*validated);
  // Refusals are answered through the task; nothing more to do here.
  scheduler_->Submit(std::move(task)).IgnoreError();
  accounting_.OnQueueDepth(scheduler_->queue_depth());
}

void ServableModel::Refuse(const absl::Status& status, Protocol protocol,
                           const InferCallback& done) {
  accounting_.OnAnswered(protocol, status.code(), absl::ZeroDuration());
  done(status);
}

void ServableModel::ExecuteBatch(int worker, const batching::Batch& batch) {
  std::vector<Task*> tasks;
  tasks.reserve(batch.size());
  int64_t total_rows = 0;
  for (auto& item : batch) {
    tasks.push_back(static_cast<Task*>(item.get()));
    total_rows += tasks.back()->rows();
  }
  const absl::Time gather = clock_->Now();
  std::vector<Tensor> inputs;
  inputs.reserve(config_.input_size());
  for (int i = 0; i < config_.input_size(); ++i) {
    inputs.push_back(
        AssembleInput(tasks, i, total_rows, config_.input(i).data_type()));
  }
  for (const Task* task : tasks)
    accounting_.OnDequeued(gather - task->enqueued());
  const absl::Time start = clock_->Now();
  absl::StatusOr<std::vector<Tensor>> outputs = model_->Execute(worker, inputs);
  const absl::Time end = clock_->Now();
  const absl::Status status = outputs.ok()
                                  ? CheckOutputs(config_, *outputs, total_rows)
                                  : outputs.status();
  accounting_.OnBatchDone(static_cast<int64_t>(tasks.size()), total_rows,
                          start - gather, end - start, status.ok(), end);
  accounting_.OnQueueDepth(scheduler_->queue_depth());
  if (!status.ok()) {
    FailBatch(tasks, status);
    return;
  }
  int64_t first_row = 0;
  for (Task* task : tasks) {
    AnswerTask(task, *outputs, first_row);
    first_row += task->rows();
  }
}

void ServableModel::FailBatch(const std::vector<Task*>& tasks,
                              const absl::Status& status) {
  const absl::Status failure(
      status.code(),
      absl::StrCat("model ", display_name_, " failed: ", status.message()));
  for (Task* task : tasks) task->Answer(failure);
}

void ServableModel::AnswerTask(Task* task, const std::vector<Tensor>& outputs,
                               int64_t first_row) {
  const absl::Time begin = clock_->Now();
  const bool batched = config_.max_batch_size() > 0;
  InferResponse response;
  response.model_name = config_.name();
  response.model_version = absl::StrCat(version_);
  response.id = task->request().id;
  for (const OutputSelection& selection : task->validated().outputs) {
    const Tensor& output = outputs[selection.index];
    const std::string& name = config_.output(selection.index).name();
    if (selection.classification > 0) {
      static const std::vector<std::string> kNoLabels;
      const auto& labels = selection.index < static_cast<int>(labels_.size())
                               ? labels_[selection.index]
                               : kNoLabels;
      response.outputs.push_back(
          ClassifyRows(output, batched, first_row, task->rows(),
                       selection.classification, name, labels));
    } else {
      response.outputs.push_back(
          SliceRows(output, batched, first_row, task->rows(), name));
    }
  }
  accounting_.OnOutput(clock_->Now() - begin);
  task->Answer(std::move(response));
}

Tensor ServableModel::AssembleInput(const std::vector<Task*>& tasks, int index,
                                    int64_t total_rows,
                                    inference::DataType dtype) {
  const InputTensor& head = *tasks.front()->validated().inputs[index];
  Tensor tensor;
  tensor.dtype = dtype;
  tensor.shape = head.shape;
  if (tasks.size() == 1) {
    tensor.data = head.data.data();
    tensor.byte_size = head.data.size();
    return tensor;
  }
  tensor.shape[0] = total_rows;
  size_t bytes = 0;
  for (const Task* task : tasks) {
    bytes += task->validated().inputs[index]->data.size();
  }
  auto buffer = std::shared_ptr<char[]>(new char[bytes]);
  size_t offset = 0;
  for (const Task* task : tasks) {
    absl::string_view data = task->validated().inputs[index]->data;
    std::memcpy(buffer.get() + offset, data.data(), data.size());
    offset += data.size();
  }
  tensor.data = buffer.get();
  tensor.byte_size = bytes;
  tensor.owner = std::move(buffer);
  return tensor;
}

}  // namespace inferd
