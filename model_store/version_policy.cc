#include "model_store/version_policy.h"

#include <algorithm>

namespace inferd {

std::vector<int64_t> SelectVersions(const inference::ModelVersionPolicy& policy,
                                    const std::vector<int64_t>& available) {
  switch (policy.policy_choice_case()) {
    case inference::ModelVersionPolicy::kAll:
      return available;
    case inference::ModelVersionPolicy::kSpecific: {
      std::vector<int64_t> chosen;
      for (int64_t version : available) {
        const auto& wanted = policy.specific().versions();
        if (std::find(wanted.begin(), wanted.end(), version) != wanted.end()) {
          chosen.push_back(version);
        }
      }
      return chosen;
    }
    default: {
      const size_t n = std::max<uint32_t>(1, policy.latest().num_versions());
      const size_t skip = available.size() > n ? available.size() - n : 0;
      return std::vector<int64_t>(available.begin() + skip, available.end());
    }
  }
}

}  // namespace inferd
