#ifndef INFERD_COMMON_FULL_FILE_TABLE_H_
#define INFERD_COMMON_FULL_FILE_TABLE_H_

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <vector>

namespace inferd {

// For tests: keeps the process's file table full (its open-file limit
// lowered to 256, then /dev/null opened until open() fails with EMFILE)
// until Release() or destruction, which close those files and restore the
// limit.
class FullFileTable {
 public:
  FullFileTable() {
    if (getrlimit(RLIMIT_NOFILE, &original_) != 0) return;
    rlimit low = original_;
    low.rlim_cur = 256;
    if (setrlimit(RLIMIT_NOFILE, &low) != 0) return;
    filled_ = true;
    for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) {
      filler_.push_back(fd);
    }
  }
  ~FullFileTable() { Release(); }
  FullFileTable(const FullFileTable&) = delete;
  FullFileTable& operator=(const FullFileTable&) = delete;

  // Whether the table was filled (false where the limit could not be set).
  bool filled() const { return filled_; }

  void Release() {
    for (int fd : filler_) close(fd);
    filler_.clear();
    if (filled_) setrlimit(RLIMIT_NOFILE, &original_);
    filled_ = false;
  }

 private:
  rlimit original_{};
  bool filled_ = false;
  std::vector<int> filler_;
};

}  // namespace inferd

#endif  // INFERD_COMMON_FULL_FILE_TABLE_H_
