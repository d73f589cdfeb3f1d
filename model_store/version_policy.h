#ifndef INFERD_MODEL_STORE_VERSION_POLICY_H_
#define INFERD_MODEL_STORE_VERSION_POLICY_H_

#include <cstdint>
#include <vector>

#include "proto/model_config.pb.h"

namespace inferd {

// The versions `policy` asks to serve out of `available` (ascending), as
// Triton does: latest { num_versions: N } (the default, N = 1; 0 means 1) the
// N highest; all {} every one; specific { versions } those listed that are
// available. Returns them ascending.
std::vector<int64_t> SelectVersions(const inference::ModelVersionPolicy& policy,
                                    const std::vector<int64_t>& available);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_VERSION_POLICY_H_
