// Versions and visible GPUs. Must work on machines without a GPU or an NVIDIA driver,
// where cudaGetDeviceCount fails: that is reported, never thrown.
#include "cuda_check.hpp"
#include "cudnn_gru.hpp"

#include <cstdio>

namespace rgru {
namespace cuda {

std::string format_cuda_version(int version) {
  if (version <= 0) return "";
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

std::string format_cudnn_version(long version) {
  if (version <= 0) return "";
  // cuDNN 9 switched from major*1000 to major*10000.
  const long major_scale = version >= 90000 ? 10000 : 1000;
  const long major = version / major_scale;
  const long minor = (version % major_scale) / 100;
  const long patch = version % 100;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

int visible_gpu_count(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status == cudaSuccess) return count;
  if (why != nullptr) {
    *why = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
  }
  cudaGetLastError();
  return 0;
}

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.runtime_compiled = CUDART_VERSION;
  info.cudnn_compiled = static_cast<long>(CUDNN_VERSION);
  info.cudnn_loaded = static_cast<long>(cudnnGetVersion());
  int v = 0;
  if (cudaRuntimeGetVersion(&v) == cudaSuccess) info.runtime_loaded = v;
  v = 0;
  if (cudaDriverGetVersion(&v) == cudaSuccess) info.driver_version = v;

  const int count = visible_gpu_count(&info.error);
  info.gpu_count = count;
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, i) == cudaSuccess) {
      info.gpu_names.emplace_back(prop.name);
    } else {
      info.gpu_names.emplace_back("unknown");
      cudaGetLastError();
    }
  }
  return info;
}

}  // namespace cuda
}  // namespace rgru
