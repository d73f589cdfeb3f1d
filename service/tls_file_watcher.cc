#include "service/tls_file_watcher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace inferd {

absl::StatusOr<std::unique_ptr<TlsFileWatcher>> TlsFileWatcher::Create(
    Options options, TlsPem published, Publish publish) {
  if (options.refresh_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate refresh interval must be positive, got ",
                     absl::FormatDuration(options.refresh_interval)));
  }
  std::unique_ptr<TlsFileWatcher> watcher(new TlsFileWatcher(
      std::move(options), std::move(published), std::move(publish)));
  watcher->thread_ = std::thread([w = watcher.get()] { w->RefreshLoop(); });
  return watcher;
}

TlsFileWatcher::TlsFileWatcher(Options options, TlsPem published,
                               Publish publish)
    : options_(std::move(options)),
      publish_(std::move(publish)),
      clock_(options_.clock != nullptr ? options_.clock : RealClock()),
      published_(std::move(published)) {}

TlsFileWatcher::~TlsFileWatcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int64_t TlsFileWatcher::refreshes() const {
  absl::MutexLock lock(&mu_);
  return refreshes_;
}

void TlsFileWatcher::RefreshLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      clock_->AwaitWithDeadline(&mu_, absl::Condition(&stop_),
                                clock_->Now() + options_.refresh_interval);
      if (stop_) return;
    }
    Refresh().IgnoreError();  // Refresh() logs what failed
  }
}

absl::Status TlsFileWatcher::Refresh() {
  absl::Status status;
  {
    absl::MutexLock lock(&refresh_mu_);
    status = RefreshLocked();
  }
  absl::MutexLock lock(&mu_);
  ++refreshes_;
  return status;
}

absl::Status TlsFileWatcher::RefreshLocked() {
  absl::StatusOr<TlsPem> pem = ReadTlsFiles(options_.files);
  absl::Status status = pem.status();
  const bool changed = pem.ok() && !(*pem == published_);
  if (changed) status = publish_(*pem);
  const TlsFiles& files = options_.files;
  if (!status.ok()) {
    // Once per distinct failure: a bad file left in place for days must not
    // write a line every interval.
    if (status.message() != last_error_) {
      last_error_ = std::string(status.message());
      LogError(
          "TLS certificates not reloaded (the ones loaded before are "
          "still served): ",
          status.message());
    }
    return status;
  }
  last_error_.clear();
  if (changed) {
    published_ = std::move(*pem);
    LogInfo("TLS certificates reloaded from ", files.cert.label, "=",
            files.cert.path, files.root.path.empty() ? " and " : ", ",
            files.key.label, "=", files.key.path,
            files.root.path.empty() ? "" : " and ",
            files.root.path.empty() ? "" : files.root.label,
            files.root.path.empty() ? "" : "=", files.root.path,
            ": new connections get them");
  }
  return absl::OkStatus();
}

}  // namespace inferd
