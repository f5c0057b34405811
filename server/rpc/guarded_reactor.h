#ifndef TEMOIN_SERVER_RPC_GUARDED_REACTOR_H_
#define TEMOIN_SERVER_RPC_GUARDED_REACTOR_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "grpcpp/support/server_callback.h"
#include "server/rpc/call_env.h"
#include "server/rpc/status_conversion.h"

namespace temoin::server {

// The common life of a streaming call on gRPC's callback API: it holds its admission
// (per-device or per-source count) until it is done, is watched for deadlines, runs
// its blocking steps on the worker pool, and finishes exactly once whoever decides to
// end it (its own steps, the client going away, or the watchdog).
//
// Locking: `mu_` guards `finished_` and is held while a step starts a read, a write or
// the finish, so that nothing is started on a finished call. gRPC never runs a
// reaction (OnReadDone, OnWriteDone, OnDone) inline inside those calls on the server
// side, so holding it there cannot deadlock. The reactor deletes itself once gRPC is
// done with it (OnDone) and no pool step still uses it (a reference count).
template <typename Base>  // grpc::ServerBidiReactor, ServerReadReactor or ServerWriteReactor
class GuardedReactor : public Base {
 public:
  void OnDone() final {
    if (watch_) env_.watchdog().Remove(watch_);
    Unref();
  }

 protected:
  GuardedReactor(CallEnv& env, Admission admission) : env_(env), admission_(std::move(admission)) {}
  ~GuardedReactor() override = default;

  CallEnv& env() { return env_; }

  // Starts the deadlines: the first message within CallLimits::first_message (for
  // streams whose client sends), then progress at least every stream_idle.
  void Watch(bool awaiting_first_message) {
    watch_ = env_.watchdog().Add([this](absl::Status why) { FinishOnce(ToGrpcStatus(why)); },
                                 StreamWatchdog::Clock::now(), awaiting_first_message);
  }
  void Progress() {
    if (watch_) env_.watchdog().Touch(*watch_, StreamWatchdog::Clock::now());
  }

  void FinishOnce(grpc::Status status) {
    std::lock_guard lock(mu_);
    FinishLocked(std::move(status));
  }
  void FinishLocked(grpc::Status status) {
    if (finished_) return;
    finished_ = true;
    this->Finish(std::move(status));
  }

  // Runs `step` on the worker pool; the reactor stays alive until it returns. False
  // (nothing runs) when the pool's queue is full.
  bool RunOnPool(std::function<void()> step) {
    refs_.fetch_add(1);
    if (env_.pool().TrySubmit([this, step = std::move(step)] {
          step();
          Unref();
        })) {
      return true;
    }
    Unref();
    return false;
  }

  std::mutex mu_;
  bool finished_ = false;

 private:
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  CallEnv& env_;
  Admission admission_;
  std::shared_ptr<StreamWatchdog::Watch> watch_;
  std::atomic<int> refs_{1};  // gRPC's, until OnDone; one more per pool step
};

// A call refused before it started (over a cap, or the pool full).
template <typename Base>
class RefusedReactor final : public Base {
 public:
  explicit RefusedReactor(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

// Messages of the streams are parsed here rather than by gRPC, so that bytes that are
// not a message end the call with INVALID_ARGUMENT instead of looking like the client
// closing its side.
template <typename Message>
absl::StatusOr<Message> ParseMessage(grpc::ByteBuffer& buffer) {
  Message message;
  grpc::ProtoBufferReader reader(&buffer);
  if (!message.ParseFromZeroCopyStream(&reader)) {
    return absl::InvalidArgumentError(
        absl::StrCat("message does not parse as ", Message::descriptor()->full_name()));
  }
  return message;
}

template <typename Message>
grpc::ByteBuffer SerializeMessage(const Message& message) {
  grpc::ByteBuffer buffer;
  bool own = false;
  grpc::SerializationTraits<Message>::Serialize(message, &buffer, &own);
  return buffer;
}

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_GUARDED_REACTOR_H_
