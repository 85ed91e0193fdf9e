// cuDNN's RNN API (v8 entry points, still current in cuDNN 9) driving Keras's GRU.
//
// Shape of a call: R-layout arrays go to the device, small kernels (layout_kernels.cu)
// turn them into cuDNN's sequence-major layout with per-sample lengths and go_backwards
// applied, cudnnRNNForward runs, and the kernels turn cuDNN's outputs back into what
// Keras returns. Weights are packed into cuDNN's weight space once per weights key (R
// passes its weights' version counters) and kept on the device; RNN descriptors are
// cached per (input size, units, type, math, algorithm); device memory comes from a
// caching pool (device_pool.hpp).
#include "cudnn_gru.hpp"

#include "cuda_check.hpp"
#include "cudnn_layout.hpp"
#include "layout_kernels.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <list>
#include <map>
#include <set>
#include <tuple>
#include <type_traits>
#include <utility>

namespace rgru {
namespace cuda {

namespace {

template <typename T>
constexpr cudnnDataType_t data_type() {
  return std::is_same<T, double>::value ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
}

cudnnRNNAlgo_t to_cudnn(Algorithm a) {
  switch (a) {
    case Algorithm::persist_static:
      return CUDNN_RNN_ALGO_PERSIST_STATIC;
    case Algorithm::persist_dynamic:
      return CUDNN_RNN_ALGO_PERSIST_DYNAMIC;
    case Algorithm::persist_static_small_h:
      return CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H;
    default:
      return CUDNN_RNN_ALGO_STANDARD;
  }
}

std::atomic<std::size_t> weight_uploads{0};

// Binds a device for one call and gives the caller's current device back.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    RGRU_CUDA(cudaGetDevice(&previous_));
    if (previous_ != device) {
      RGRU_CUDA(cudaSetDevice(device));
      switched_ = true;
    }
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;
  ~DeviceGuard() {
    if (switched_) cudaSetDevice(previous_);
  }

 private:
  int previous_ = 0;
  bool switched_ = false;
};

bool same_slots(const cudnn_layout::ParamSlots& a, const cudnn_layout::ParamSlots& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// float32 without TF32 must stay on FMA units: cuDNN's default math type lets Ampere and
// later GPUs round float32 GEMM inputs to TF32, about 1e-3 relative error.
cudnnMathType_t math_type(cudnnDataType_t t, bool allow_tf32) {
  if (t == CUDNN_DATA_FLOAT && !allow_tf32) return CUDNN_FMA_MATH;
  return CUDNN_DEFAULT_MATH;
}

int to_int(index_t v, const char* what) {
  if (v < 0 || v > INT_MAX) {
    throw invalid_argument(std::string(what) + " = " + std::to_string(v) +
                           " exceeds what cuDNN accepts (" + std::to_string(INT_MAX) + ")");
  }
  return static_cast<int>(v);
}

void check_config(const GruConfig& c) {
  if (c.activation != Activation::tanh || c.recurrent_activation != Activation::sigmoid) {
    throw invalid_argument("cuDNN's GRU needs activation = \"tanh\" and "
                           "recurrent_activation = \"sigmoid\"");
  }
  if (!c.reset_after) throw invalid_argument("cuDNN's GRU needs reset_after = TRUE");
}

void copy_to_device(void* dst, const void* src, std::size_t bytes, cudaStream_t s) {
  if (bytes > 0) RGRU_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s));
}

void copy_to_host(void* dst, const void* src, std::size_t bytes, cudaStream_t s) {
  if (bytes > 0) RGRU_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
}

}  // namespace

// One RNN descriptor and where cuDNN keeps each weight inside its weight space.
struct Plan {
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  std::size_t element_bytes = 4;
  int input_size = 0;
  int hidden_size = 0;
  Algorithm algorithm = Algorithm::standard;
  RnnDescriptor rnn;
  std::size_t weight_bytes = 0;
  cudnn_layout::ParamSlots slots;
  int dynamic_batch = -1;  // batch the persistent-dynamic kernel was built for
};

// Whether weights packed for one plan serve another (plans differ by algorithm or math
// only; the weight space is the same when cuDNN lays it out the same).
bool same_weight_layout(const Plan& a, const Plan& b) {
  return a.type == b.type && a.input_size == b.input_size && a.hidden_size == b.hidden_size &&
         a.weight_bytes == b.weight_bytes && same_slots(a.slots, b.slots);
}

// Packed weights on the device. Shared so a tape keeps the version it ran with even
// after the cache moves on.
struct DeviceWeights {
  std::uint64_t key = 0;
  std::shared_ptr<Plan> plan;
  DeviceBuffer space;
};

struct Engine::Impl {
  int device = 0;
  Stream stream;
  CudnnHandle handle;
  DropoutDescriptor no_dropout;
  std::map<std::tuple<int, int, int, int, int, int>, std::shared_ptr<Plan>> plans;
  // Most recently used first; a model with several GRU layers keeps each one's weights.
  std::list<std::shared_ptr<DeviceWeights>> weights;
  static constexpr std::size_t kMaxWeights = 16;
  DeviceBuffer workspace;  // shared: every call is serialised on `stream`
  // Persistent algorithms cuDNN refused, by (type, input size, units, math, algorithm):
  // "auto" runs the standard algorithm for these from then on.
  std::set<std::tuple<int, int, int, int, int>> refused;

  // Created with `device` current (Engine::instance binds it).
  explicit Impl(int dev) : device(dev) {
    handle = make_cudnn_handle();
    RGRU_CUDNN(cudnnSetStream(handle.get(), stream.get()));
    no_dropout = make_dropout_descriptor();
    RGRU_CUDNN(cudnnSetDropoutDescriptor(no_dropout.get(), handle.get(), 0.0f, nullptr, 0, 0));
  }

  std::shared_ptr<Plan> plan_for(cudnnDataType_t type, std::size_t element_bytes,
                                 int input_size, int hidden_size, bool allow_tf32,
                                 Algorithm algorithm, int batch);
  std::shared_ptr<DeviceWeights> weights_for(const std::shared_ptr<Plan>& plan,
                                             std::uint64_t key);
  void* workspace_of(std::size_t bytes) {
    workspace.reserve(bytes, "the cuDNN RNN workspace");
    return workspace.get();
  }
};

// A persistent-dynamic plan is compiled for one batch size (cudnnBuildRNNDynamic), so it
// is cached per batch size rather than recompiled whenever the batch changes.
std::shared_ptr<Plan> Engine::Impl::plan_for(cudnnDataType_t type, std::size_t element_bytes,
                                             int input_size, int hidden_size, bool allow_tf32,
                                             Algorithm algorithm, int batch) {
  const cudnnMathType_t math = math_type(type, allow_tf32);
  const int batch_key = algorithm == Algorithm::persist_dynamic ? batch : 0;
  const auto key = std::make_tuple(static_cast<int>(type), input_size, hidden_size,
                                   static_cast<int>(math), static_cast<int>(algorithm),
                                   batch_key);
  auto found = plans.find(key);
  if (found != plans.end()) return found->second;

  auto plan = std::make_shared<Plan>();
  plan->type = type;
  plan->element_bytes = element_bytes;
  plan->input_size = input_size;
  plan->hidden_size = hidden_size;
  plan->algorithm = algorithm;
  plan->rnn = make_rnn_descriptor();
  RGRU_CUDNN(cudnnSetRNNDescriptor_v8(
      plan->rnn.get(), to_cudnn(algorithm), CUDNN_GRU, CUDNN_RNN_DOUBLE_BIAS,
      CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, type, type, math, input_size, hidden_size,
      hidden_size, 1, no_dropout.get(), CUDNN_RNN_PADDED_IO_ENABLED));
  RGRU_CUDNN(cudnnGetRNNWeightSpaceSize(handle.get(), plan->rnn.get(), &plan->weight_bytes));

  // Ask cuDNN where each matrix and bias lives rather than assuming its order, and
  // check each matrix is the (units x fan-in) row-major block cudnn_layout expects.
  DeviceBuffer probe(plan->weight_bytes, "probing the cuDNN weight layout");
  TensorDescriptor m_desc = make_tensor_descriptor();
  TensorDescriptor b_desc = make_tensor_descriptor();
  const char* base = probe.as<char>();
  plan->slots.total = static_cast<index_t>(plan->weight_bytes / element_bytes);
  for (int id = 0; id < cudnn_layout::kLinLayers; ++id) {
    void* m_addr = nullptr;
    void* b_addr = nullptr;
    RGRU_CUDNN(cudnnGetRNNWeightParams(handle.get(), plan->rnn.get(), 0, plan->weight_bytes,
                                       probe.get(), id, m_desc.get(), &m_addr, b_desc.get(),
                                       &b_addr));
    if (m_addr == nullptr || b_addr == nullptr) {
      throw error("cuDNN reported no matrix or bias for GRU weight " + std::to_string(id));
    }
    cudnnDataType_t dt;
    int nb = 0, dims[4] = {0, 0, 0, 0}, strides[4] = {0, 0, 0, 0};
    RGRU_CUDNN(cudnnGetTensorNdDescriptor(m_desc.get(), 4, &dt, &nb, dims, strides));
    // cuDNN 8 and 9 report {1, rows, cols}; accept any number of leading unit dims.
    const int fan_in = cudnn_layout::is_recurrent(id) ? hidden_size : input_size;
    bool expected = nb >= 2 && nb <= 4;
    for (int i = 0; expected && i < nb - 2; ++i) expected = dims[i] == 1;
    if (expected) {
      const int rows = dims[nb - 2], cols = dims[nb - 1];
      // A dimension of extent 1 may carry any stride.
      const bool row_major = (strides[nb - 1] == 1 || cols == 1) &&
                             (strides[nb - 2] == cols || rows == 1);
      expected = rows == hidden_size && cols == fan_in && row_major;
    }
    if (!expected) {
      std::string got;
      for (int i = 0; i < nb && i < 4; ++i) {
        got += (i ? ", " : "") + std::to_string(dims[i]) + "/" + std::to_string(strides[i]);
      }
      throw error("cuDNN's GRU weight " + std::to_string(id) + " is not the expected (" +
                  std::to_string(hidden_size) + " x " + std::to_string(fan_in) +
                  ") row-major matrix (dims/strides: " + got +
                  "); this cuDNN version is not supported");
    }
    plan->slots.matrix[id] =
        static_cast<index_t>((static_cast<const char*>(m_addr) - base) / element_bytes);
    plan->slots.bias[id] =
        static_cast<index_t>((static_cast<const char*>(b_addr) - base) / element_bytes);
  }
  cudnn_layout::check_slots(plan->slots, input_size, hidden_size);
  plans.emplace(key, plan);
  return plan;
}

std::shared_ptr<DeviceWeights> Engine::Impl::weights_for(const std::shared_ptr<Plan>& plan,
                                                         std::uint64_t key) {
  for (auto it = weights.begin(); it != weights.end(); ++it) {
    if ((*it)->key == key && same_weight_layout(*(*it)->plan, *plan)) {
      weights.splice(weights.begin(), weights, it);
      return weights.front();
    }
  }
  return nullptr;
}

// One call's device state. A training forward keeps it alive as the tape; the
// inference path reuses one across calls.
class Tape {
 public:
  Engine::Impl* engine = nullptr;
  GruDims dims;
  GruConfig config;
  Options options;  // as the forward was given them (a refused algorithm is replaced)
  std::shared_ptr<Plan> plan;
  std::shared_ptr<DeviceWeights> weights;
  std::vector<int> lengths;
  DeviceBuffer lengths_device;
  RnnDataDescriptor x_desc, y_desc;
  TensorDescriptor h_desc;
  bool has_initial_state = false;
  bool descriptors_ready = false;  // x_desc/y_desc/h_desc describe dims and lengths
  bool forward_done = false;   // reserve holds a training forward's state
  bool reserve_fresh = false;  // and no backward has consumed it yet
  std::size_t reserve_bytes = 0;
  // cuDNN-layout buffers, then R-layout staging for host calls.
  DeviceBuffer x, y, hx, hy, reserve, dy, dx, dhx, dhy;
  DeviceBuffer x_r, h0_r, seq_r, final_r;
  DeviceBuffer dseq_r, dfinal_r, dx_r, dh0_r, dw;

  std::size_t elt() const { return plan->element_bytes; }
  std::size_t seq_bytes(index_t features) const {
    return static_cast<std::size_t>(dims.batch * dims.timesteps * features) * elt();
  }
  std::size_t state_bytes() const {
    return static_cast<std::size_t>(dims.batch * dims.units) * elt();
  }
  SeqShape shape(index_t features) const {
    return SeqShape{dims.batch, dims.timesteps, features, config.go_backwards};
  }
  cudaStream_t stream() const { return engine->stream.get(); }
  cudnnHandle_t handle() const { return engine->handle.get(); }

  void prepare(Engine::Impl* e, const GruDims& d, const GruConfig& c,
               std::shared_ptr<Plan> p, std::vector<int> lens);
  void build_dynamic_kernel();
  void switch_algorithm(Algorithm a);
  template <typename T>
  void run_forward(const T* x_in, const T* h0_in, T* seq_out, T* final_out, bool training);
  template <typename T>
  void run_backward(const T* dseq_in, const T* dfinal_in, T* dx_out, T* dh0_out, T* dw_out);
};

void Tape::prepare(Engine::Impl* e, const GruDims& d, const GruConfig& c,
                   std::shared_ptr<Plan> p, std::vector<int> lens) {
  engine = e;
  const bool same_shape = plan == p && dims.batch == d.batch &&
                          dims.timesteps == d.timesteps && lengths == lens;
  dims = d;
  config = c;
  plan = std::move(p);
  forward_done = false;
  reserve_fresh = false;
  if (same_shape && descriptors_ready) return;

  descriptors_ready = false;
  lengths = std::move(lens);
  const int batch = to_int(d.batch, "batch");
  const int steps = to_int(d.timesteps, "timesteps");
  to_int(d.batch * d.timesteps * std::max(d.input_dim, d.units), "batch * timesteps * features");
  lengths_device.reserve(lengths.size() * sizeof(int), "sequence lengths");
  RGRU_CUDA(cudaMemcpyAsync(lengths_device.get(), lengths.data(), lengths.size() * sizeof(int),
                            cudaMemcpyHostToDevice, stream()));

  double zero_d = 0.0;
  float zero_f = 0.0f;
  void* fill = plan->type == CUDNN_DATA_DOUBLE ? static_cast<void*>(&zero_d)
                                               : static_cast<void*>(&zero_f);
  if (x_desc.get() == nullptr) {
    x_desc = make_rnn_data_descriptor();
    y_desc = make_rnn_data_descriptor();
    h_desc = make_tensor_descriptor();
  }
  RGRU_CUDNN(cudnnSetRNNDataDescriptor(x_desc.get(), plan->type,
                                       CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, steps, batch,
                                       plan->input_size, lengths.data(), fill));
  RGRU_CUDNN(cudnnSetRNNDataDescriptor(y_desc.get(), plan->type,
                                       CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, steps, batch,
                                       plan->hidden_size, lengths.data(), fill));
  const int h_dims[3] = {1, batch, plan->hidden_size};
  const int h_strides[3] = {batch * plan->hidden_size, plan->hidden_size, 1};
  RGRU_CUDNN(cudnnSetTensorNdDescriptor(h_desc.get(), plan->type, 3, h_dims, h_strides));
  descriptors_ready = true;
}

// The persistent-dynamic kernel is compiled for one batch size into the RNN descriptor,
// which tapes of other batch sizes share: rebuild whenever the batch differs.
void Tape::build_dynamic_kernel() {
  if (plan->algorithm != Algorithm::persist_dynamic) return;
  const int batch = static_cast<int>(dims.batch);
  if (plan->dynamic_batch == batch) return;
  RGRU_CUDNN(cudnnBuildRNNDynamic(handle(), plan->rnn.get(), batch));
  plan->dynamic_batch = batch;
}

// A training tape moves to another algorithm (cuDNN refused its own in backward): the
// reserve space belongs to the algorithm that wrote it, so backward reruns the forward.
void Tape::switch_algorithm(Algorithm a) {
  auto replacement =
      engine->plan_for(plan->type, plan->element_bytes, plan->input_size, plan->hidden_size,
                       options.allow_tf32, a, static_cast<int>(dims.batch));
  if (!same_weight_layout(*weights->plan, *replacement)) {
    throw error(std::string("cuDNN lays out the GRU weights differently for the ") +
                    algorithm_name(a) + " algorithm than for the " +
                    algorithm_name(plan->algorithm) + " one this tape ran",
                "CUDNN_STATUS_NOT_SUPPORTED");
  }
  const bool had_forward = forward_done;
  prepare(engine, dims, config, std::move(replacement), lengths);
  forward_done = had_forward;
  reserve_fresh = false;
}

template <typename T>
void Tape::run_forward(const T* x_in, const T* h0_in, T* seq_out, T* final_out,
                       bool training) {
  const cudnnForwardMode_t mode = training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE;
  build_dynamic_kernel();
  std::size_t ws_bytes = 0, rs_bytes = 0;
  RGRU_CUDNN(cudnnGetRNNTempSpaceSizes(handle(), plan->rnn.get(), mode, x_desc.get(), &ws_bytes,
                                       &rs_bytes));
  x.reserve(seq_bytes(dims.input_dim), "the input sequence");
  y.reserve(seq_bytes(dims.units), "the output sequence");
  hy.reserve(state_bytes(), "the final state");
  has_initial_state = h0_in != nullptr;
  if (has_initial_state) {
    hx.reserve(state_bytes(), "the initial state");
    launch_transpose<T>(dims.batch, dims.units, h0_in, hx.as<T>(), stream());
  }
  launch_to_cudnn_input<T>(shape(dims.input_dim), lengths_device.as<int>(), x_in, x.as<T>(),
                           stream());
  if (training) {
    reserve.reserve(rs_bytes, "the cuDNN RNN reserve space (kept for backward)");
    reserve_bytes = rs_bytes;
  }
  void* ws = engine->workspace_of(ws_bytes);
  RGRU_CUDNN(cudnnRNNForward(handle(), plan->rnn.get(), mode, lengths_device.as<int>(),
                             x_desc.get(), x.get(), y_desc.get(), y.get(), h_desc.get(),
                             has_initial_state ? hx.get() : nullptr, hy.get(), h_desc.get(),
                             nullptr, nullptr, plan->weight_bytes, weights->space.get(),
                             ws_bytes, ws, training ? rs_bytes : 0,
                             training ? reserve.get() : nullptr));
  forward_done = training;
  reserve_fresh = training;
  if (seq_out != nullptr) {
    launch_from_cudnn_output<T>(shape(dims.units), lengths_device.as<int>(), y.as<T>(), h0_in,
                                seq_out, stream());
  }
  launch_transpose<T>(dims.units, dims.batch, hy.as<T>(), final_out, stream());
}

template <typename T>
void Tape::run_backward(const T* dseq_in, const T* dfinal_in, T* dx_out, T* dh0_out,
                        T* dw_out) {
  if (!forward_done) throw invalid_argument("backward needs a tape from a training forward");
  build_dynamic_kernel();
  if (!reserve_fresh) {
    // cuDNN's backward-data pass may overwrite the reserve space, so a second backward
    // through the same tape reruns the (training) forward to restore it.
    std::size_t ws_bytes = 0, rs_bytes = 0;
    RGRU_CUDNN(cudnnGetRNNTempSpaceSizes(handle(), plan->rnn.get(), CUDNN_FWD_MODE_TRAINING,
                                         x_desc.get(), &ws_bytes, &rs_bytes));
    reserve.reserve(rs_bytes, "the cuDNN RNN reserve space (kept for backward)");
    reserve_bytes = rs_bytes;
    void* ws = engine->workspace_of(ws_bytes);
    RGRU_CUDNN(cudnnRNNForward(handle(), plan->rnn.get(), CUDNN_FWD_MODE_TRAINING,
                               lengths_device.as<int>(), x_desc.get(), x.get(), y_desc.get(),
                               y.get(), h_desc.get(), has_initial_state ? hx.get() : nullptr,
                               hy.get(), h_desc.get(), nullptr, nullptr, plan->weight_bytes,
                               weights->space.get(), ws_bytes, ws, reserve_bytes,
                               reserve.get()));
  }
  std::size_t ws_bytes = 0, rs_bytes = 0;
  RGRU_CUDNN(cudnnGetRNNTempSpaceSizes(handle(), plan->rnn.get(), CUDNN_FWD_MODE_TRAINING,
                                       x_desc.get(), &ws_bytes, &rs_bytes));
  void* ws = engine->workspace_of(ws_bytes);

  // As PyTorch: cuDNN gets zero tensors for the gradients nobody passed (dhy when only the
  // sequence has a gradient, dy when only the final state has one), never NULL.
  dhy.reserve(state_bytes(), "the final-state gradient");
  dy.reserve(seq_bytes(dims.units), "the output gradient");
  dx.reserve(seq_bytes(dims.input_dim), "the input gradient");
  dhx.reserve(state_bytes(), "the initial-state gradient");
  if (dseq_in != nullptr) {
    launch_to_cudnn_output_grad<T>(shape(dims.units), lengths_device.as<int>(), dseq_in,
                                   dy.as<T>(), stream());
  } else {
    RGRU_CUDA(cudaMemsetAsync(dy.get(), 0, seq_bytes(dims.units), stream()));
  }
  if (dfinal_in != nullptr) {
    launch_transpose<T>(dims.batch, dims.units, dfinal_in, dhy.as<T>(), stream());
  } else {
    RGRU_CUDA(cudaMemsetAsync(dhy.get(), 0, state_bytes(), stream()));
  }
  reserve_fresh = false;
  RGRU_CUDNN(cudnnRNNBackwardData_v8(
      handle(), plan->rnn.get(), lengths_device.as<int>(), y_desc.get(), y.get(), dy.get(),
      x_desc.get(), dx.get(), h_desc.get(), has_initial_state ? hx.get() : nullptr,
      dhy.get(), dhx.get(), h_desc.get(), nullptr, nullptr,
      nullptr, plan->weight_bytes, weights->space.get(), ws_bytes, ws, reserve_bytes,
      reserve.get()));
  // cuDNN only accumulates weight gradients (CUDNN_WGRAD_MODE_ADD), so start from zero.
  RGRU_CUDA(cudaMemsetAsync(dw_out, 0, plan->weight_bytes, stream()));
  RGRU_CUDNN(cudnnRNNBackwardWeights_v8(
      handle(), plan->rnn.get(), CUDNN_WGRAD_MODE_ADD, lengths_device.as<int>(), x_desc.get(),
      x.get(), h_desc.get(), has_initial_state ? hx.get() : nullptr, y_desc.get(), y.get(),
      plan->weight_bytes, dw_out, ws_bytes, ws, reserve_bytes, reserve.get()));
  launch_from_cudnn_input_grad<T>(shape(dims.input_dim), lengths_device.as<int>(), dx.as<T>(),
                                  dx_out, stream());
  launch_from_cudnn_state_grad<T>(shape(dims.units), lengths_device.as<int>(), dhx.as<T>(),
                                  dseq_in, dh0_out, stream());
}

// --- Engine -----------------------------------------------------------------------

namespace {
std::map<int, Engine*>& engines() {
  static std::map<int, Engine*>* by_device = new std::map<int, Engine*>();
  return *by_device;
}
}  // namespace

Engine& Engine::instance(int device) {
  if (device < 0) RGRU_CUDA(cudaGetDevice(&device));
  auto found = engines().find(device);
  if (found != engines().end()) return *found->second;
  DeviceGuard bind(device);
  Engine* engine = new Engine(device);
  engines().emplace(device, engine);
  return *engine;
}

void release_engine_caches() {
  for (auto& entry : engines()) entry.second->release_caches();
}

Engine::Engine(int device) : impl_(new Impl(device)) {}
Engine::~Engine() = default;

int Engine::device() const { return impl_->device; }

void Engine::release_caches() {
  DeviceGuard bind(impl_->device);
  impl_->plans.clear();
  impl_->weights.clear();
  impl_->workspace.release();
}

std::size_t weight_upload_count() { return weight_uploads.load(); }

template <typename T>
std::uint64_t weights_key(const GruDims& d, const GruWeights<T>& w) {
  cudnn_layout::ContentKey key;
  key.add_value(d.input_dim);
  key.add_value(d.units);
  key.add_value(sizeof(T));
  const std::size_t u3 = static_cast<std::size_t>(3 * d.units);
  const std::size_t n_kernel = static_cast<std::size_t>(d.input_dim) * u3;
  const std::size_t n_recurrent = static_cast<std::size_t>(d.units) * u3;
  if (w.kernel) key.add(w.kernel, n_kernel * sizeof(T));
  if (w.recurrent_kernel) key.add(w.recurrent_kernel, n_recurrent * sizeof(T));
  if (w.input_bias) key.add(w.input_bias, u3 * sizeof(T));
  if (w.recurrent_bias) key.add(w.recurrent_bias, u3 * sizeof(T));
  return key.digest();
}

namespace {

template <typename T>
std::shared_ptr<DeviceWeights> upload_weights(Engine::Impl& e, const std::shared_ptr<Plan>& plan,
                                              const GruDims& d, const GruWeights<T>& w,
                                              std::uint64_t key) {
  if (w.kernel == nullptr || w.recurrent_kernel == nullptr || w.input_bias == nullptr ||
      w.recurrent_bias == nullptr) {
    throw invalid_argument("the cuDNN GRU needs kernel, recurrent_kernel and both biases "
                           "(use_bias = TRUE, reset_after = TRUE)");
  }
  std::vector<T> packed(static_cast<std::size_t>(plan->slots.total), T(0));
  cudnn_layout::pack_weights(d, w, plan->slots, packed.data());
  auto dw = std::make_shared<DeviceWeights>();
  dw->key = key;
  dw->plan = plan;
  dw->space.reserve(plan->weight_bytes, "the packed GRU weights");
  copy_to_device(dw->space.get(), packed.data(), packed.size() * sizeof(T), e.stream.get());
  // `packed` dies at return, so the copy must be complete.
  e.stream.synchronize();
  weight_uploads++;
  return dw;
}

template <typename T>
void check_inputs(const GruDims& d, const GruInputs<T>& in) {
  check_dims(d);
  if (in.x == nullptr) throw invalid_argument("cuDNN GRU forward needs x");
  if (in.input_dropout != nullptr || in.recurrent_dropout != nullptr) {
    throw invalid_argument("the cuDNN GRU takes input dropout as an already masked x, and "
                           "has no recurrent dropout");
  }
}

template <typename T>
std::tuple<int, int, int, int, int> refusal_key(const GruDims& d, const Options& o,
                                                Algorithm a) {
  return std::make_tuple(static_cast<int>(data_type<T>()), static_cast<int>(d.input_dim),
                         static_cast<int>(d.units),
                         static_cast<int>(math_type(data_type<T>(), o.allow_tf32)),
                         static_cast<int>(a));
}

}  // namespace

// The algorithm a call runs: options(rgru.cudnn_algorithm) and choose_algorithm()'s rule
// for the call's precision, lengths and mode, unless cuDNN refused "auto"'s choice for
// this shape before.
template <typename T>
Algorithm algorithm_for_call(const Engine::Impl& e, const GruDims& d, const Options& o,
                             const std::vector<int>& lengths, bool training) {
  const bool variable_lengths =
      std::any_of(lengths.begin(), lengths.end(), [&](int n) { return n < d.timesteps; });
  const Algorithm a = choose_algorithm(o.algorithm, std::is_same<T, float>::value,
                                       variable_lengths, static_cast<long>(d.units), training);
  if (o.algorithm == AlgorithmRequest::automatic && e.refused.count(refusal_key<T>(d, o, a))) {
    return Algorithm::standard;
  }
  return a;
}

template <typename T>
std::shared_ptr<Plan> plan_for_call(Engine::Impl& e, const GruDims& d, const Options& o,
                                    Algorithm a) {
  return e.plan_for(data_type<T>(), sizeof(T), to_int(d.input_dim, "input_dim"),
                    to_int(d.units, "units"), o.allow_tf32, a, to_int(d.batch, "batch"));
}

namespace {

// One forward with a given algorithm (Engine::forward retries a refused one).
template <typename T>
std::shared_ptr<Tape> forward_with(Engine::Impl& e, Algorithm algorithm, const GruDims& d,
                                   const GruConfig& c, const Options& o, const GruWeights<T>& w,
                                   std::uint64_t key, const GruInputs<T>& in,
                                   const GruOutputs<T>& out, const std::vector<int>& lengths,
                                   bool keep_tape) {
  auto plan = plan_for_call<T>(e, d, o, algorithm);
  auto weights = e.weights_for(plan, key);
  if (weights == nullptr) {
    weights = upload_weights(e, plan, d, w, key);
    e.weights.push_front(weights);
    if (e.weights.size() > Engine::Impl::kMaxWeights) e.weights.pop_back();
  }

  // An inference run lives for this call only: its buffers go back to the pool on return.
  auto run = std::make_shared<Tape>();
  run->prepare(&e, d, c, plan, lengths);
  run->options = o;
  run->weights = weights;

  cudaStream_t s = e.stream.get();
  run->x_r.reserve(run->seq_bytes(d.input_dim), "the input sequence (R layout)");
  copy_to_device(run->x_r.get(), in.x, run->seq_bytes(d.input_dim), s);
  const T* h0 = nullptr;
  if (in.initial_state != nullptr) {
    run->h0_r.reserve(run->state_bytes(), "the initial state (R layout)");
    copy_to_device(run->h0_r.get(), in.initial_state, run->state_bytes(), s);
    h0 = run->h0_r.as<T>();
  }
  T* seq = nullptr;
  if (c.return_sequences && out.sequence != nullptr) {
    run->seq_r.reserve(run->seq_bytes(d.units), "the returned sequence (R layout)");
    seq = run->seq_r.as<T>();
  }
  run->final_r.reserve(run->state_bytes(), "the final state (R layout)");
  run->run_forward<T>(run->x_r.as<T>(), h0, seq, run->final_r.as<T>(), keep_tape);
  if (seq != nullptr) copy_to_host(out.sequence, seq, run->seq_bytes(d.units), s);
  copy_to_host(out.final_state, run->final_r.get(), run->state_bytes(), s);
  e.stream.synchronize();
  if (!keep_tape) return nullptr;
  // The R-layout staging is not needed by backward; give it back now.
  run->x_r.release();
  run->h0_r.release();
  run->seq_r.release();
  run->final_r.release();
  return run;
}

}  // namespace

template <typename T>
std::shared_ptr<Tape> Engine::forward(const GruDims& d, const GruConfig& c, const Options& o,
                                      const GruWeights<T>& w, std::uint64_t key,
                                      const GruInputs<T>& in, const GruOutputs<T>& out,
                                      bool keep_tape) {
  check_inputs(d, in);
  check_config(c);
  if (out.final_state == nullptr) throw invalid_argument("forward needs a final_state output");
  const std::vector<int> lengths = cudnn_layout::sequence_lengths(d, in.mask);
  Impl& e = *impl_;
  DeviceGuard bind(e.device);
  return run_with_standard_retry(
      o.algorithm, algorithm_for_call<T>(e, d, o, lengths, keep_tape),
      [&](Algorithm a) { return forward_with(e, a, d, c, o, w, key, in, out, lengths, keep_tape); },
      [&](Algorithm a) { e.refused.insert(refusal_key<T>(d, o, a)); });
}

template <typename T>
bool Engine::has_weights(const GruDims& d, const Options& o, std::uint64_t key,
                         const int* mask, bool training) {
  check_dims(d);
  Impl& e = *impl_;
  DeviceGuard bind(e.device);
  const std::vector<int> lengths = cudnn_layout::sequence_lengths(d, mask);
  const Algorithm a = algorithm_for_call<T>(e, d, o, lengths, training);
  return e.weights_for(plan_for_call<T>(e, d, o, a), key) != nullptr;
}

namespace {

// One backward with a given algorithm (Engine::backward retries a refused one).
template <typename T>
void backward_with(Tape& tape, Algorithm algorithm, const GruGradients<T>& g) {
  Engine::Impl& e = *tape.engine;
  cudaStream_t s = e.stream.get();
  if (algorithm != tape.plan->algorithm) tape.switch_algorithm(algorithm);
  const GruDims& d = tape.dims;
  const T* dseq = nullptr;
  if (g.d_sequence != nullptr) {
    tape.dseq_r.reserve(tape.seq_bytes(d.units), "the sequence gradient (R layout)");
    copy_to_device(tape.dseq_r.get(), g.d_sequence, tape.seq_bytes(d.units), s);
    dseq = tape.dseq_r.as<T>();
  }
  const T* dfinal = nullptr;
  if (g.d_final_state != nullptr) {
    tape.dfinal_r.reserve(tape.state_bytes(), "the final-state gradient (R layout)");
    copy_to_device(tape.dfinal_r.get(), g.d_final_state, tape.state_bytes(), s);
    dfinal = tape.dfinal_r.as<T>();
  }
  tape.dx_r.reserve(tape.seq_bytes(d.input_dim), "the input gradient (R layout)");
  tape.dh0_r.reserve(tape.state_bytes(), "the initial-state gradient (R layout)");
  tape.dw.reserve(tape.plan->weight_bytes, "the weight gradient");
  tape.run_backward<T>(dseq, dfinal, tape.dx_r.as<T>(), tape.dh0_r.as<T>(), tape.dw.as<T>());

  std::vector<T> dw_host(static_cast<std::size_t>(tape.plan->slots.total));
  copy_to_host(dw_host.data(), tape.dw.get(), tape.plan->weight_bytes, s);
  if (g.d_x != nullptr) copy_to_host(g.d_x, tape.dx_r.get(), tape.seq_bytes(d.input_dim), s);
  if (g.d_initial_state != nullptr) {
    copy_to_host(g.d_initial_state, tape.dh0_r.get(), tape.state_bytes(), s);
  }
  e.stream.synchronize();
  cudnn_layout::unpack_weights(d, tape.plan->slots, dw_host.data(), g.d_kernel,
                               g.d_recurrent_kernel, g.d_input_bias, g.d_recurrent_bias);
  // Gradients are rebuilt per backward: back to the pool now. A repeated backward needs
  // only the forward's inputs, outputs and reserve space, which the tape keeps until it
  // is released (R releases it after the one backward it runs).
  for (DeviceBuffer* b : {&tape.dseq_r, &tape.dfinal_r, &tape.dx_r, &tape.dh0_r, &tape.dw,
                          &tape.dy, &tape.dx, &tape.dhx, &tape.dhy}) {
    b->release();
  }
}

}  // namespace

template <typename T>
void Engine::backward(Tape& tape, const GruGradients<T>& g) {
  if (tape.plan == nullptr || tape.plan->type != data_type<T>()) {
    throw invalid_argument("this tape was recorded with a different precision");
  }
  Impl& e = *tape.engine;
  DeviceGuard bind(e.device);
  const Options& o = tape.options;
  run_with_standard_retry(
      o.algorithm, tape.plan->algorithm, [&](Algorithm a) { backward_with(tape, a, g); },
      [&](Algorithm a) { e.refused.insert(refusal_key<T>(tape.dims, o, a)); });
}

// --- DeviceCall ---------------------------------------------------------------------

template <typename T>
DeviceCall<T>::DeviceCall(const GruDims& d, const GruConfig& c, const Options& o,
                          std::vector<int> lengths)
    : tape_(std::make_shared<Tape>()) {
  check_dims(d);
  check_config(c);
  if (lengths.empty()) lengths.assign(static_cast<std::size_t>(d.batch), static_cast<int>(d.timesteps));
  if (static_cast<index_t>(lengths.size()) != d.batch) {
    throw invalid_argument("lengths must have one entry per sample");
  }
  Engine::Impl& e = Engine::instance().impl();
  DeviceGuard bind(e.device);
  // The harness's forward and backward share one plan: a training pass decides it.
  auto plan = plan_for_call<T>(e, d, o, algorithm_for_call<T>(e, d, o, lengths, true));
  tape_->prepare(&e, d, c, plan, std::move(lengths));
  tape_->options = o;
}

template <typename T>
DeviceCall<T>::~DeviceCall() = default;

template <typename T>
void DeviceCall<T>::set_weights(const GruWeights<T>& w) {
  Engine::Impl& e = *tape_->engine;
  tape_->weights = upload_weights(e, tape_->plan, tape_->dims, w, weights_key(tape_->dims, w));
}

template <typename T>
void DeviceCall<T>::forward(const T* x, const T* initial_state, T* sequence, T* final_state,
                            bool training) {
  if (!tape_->weights) throw invalid_argument("set_weights() before forward()");
  tape_->run_forward<T>(x, initial_state, sequence, final_state, training);
}

template <typename T>
void DeviceCall<T>::backward(const T* d_sequence, const T* d_final_state, T* d_x,
                             T* d_initial_state, T* d_weights) {
  tape_->run_backward<T>(d_sequence, d_final_state, d_x, d_initial_state, d_weights);
}

template <typename T>
std::size_t DeviceCall<T>::weight_elements() const {
  return static_cast<std::size_t>(tape_->plan->slots.total);
}

template <typename T>
void DeviceCall<T>::gradients_to_keras(const T* d_weights_device, T* d_kernel,
                                       T* d_recurrent_kernel, T* d_input_bias,
                                       T* d_recurrent_bias) const {
  std::vector<T> host(weight_elements());
  copy_to_host(host.data(), d_weights_device, tape_->plan->weight_bytes, tape_->stream());
  tape_->engine->stream.synchronize();
  cudnn_layout::unpack_weights(tape_->dims, tape_->plan->slots, host.data(), d_kernel,
                               d_recurrent_kernel, d_input_bias, d_recurrent_bias);
}

template <typename T>
void DeviceCall<T>::synchronize() const {
  tape_->engine->stream.synchronize();
}

AlgorithmRequest algorithm_from_name(const std::string& name) {
  if (name == "auto") return AlgorithmRequest::automatic;
  if (name == "standard") return AlgorithmRequest::standard;
  if (name == "persist_static") return AlgorithmRequest::persist_static;
  if (name == "persist_dynamic") return AlgorithmRequest::persist_dynamic;
  if (name == "persist_static_small_h") return AlgorithmRequest::persist_static_small_h;
  throw invalid_argument("unknown cuDNN RNN algorithm \"" + name +
                         "\"; expected \"auto\", \"standard\", \"persist_static\", "
                         "\"persist_dynamic\" or \"persist_static_small_h\"");
}

#define RGRU_INSTANTIATE_ENGINE(T)                                                           \
  template std::uint64_t weights_key<T>(const GruDims&, const GruWeights<T>&);               \
  template std::shared_ptr<Tape> Engine::forward<T>(const GruDims&, const GruConfig&,        \
                                                    const Options&, const GruWeights<T>&,    \
                                                    std::uint64_t, const GruInputs<T>&,      \
                                                    const GruOutputs<T>&, bool);             \
  template void Engine::backward<T>(Tape&, const GruGradients<T>&);                          \
  template bool Engine::has_weights<T>(const GruDims&, const Options&, std::uint64_t,        \
                                       const int*, bool);                                    \
  template class DeviceCall<T>;

RGRU_INSTANTIATE_ENGINE(float)
RGRU_INSTANTIATE_ENGINE(double)

}  // namespace cuda
}  // namespace rgru
