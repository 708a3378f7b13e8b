// checkpointer.hpp — a background thread that checkpoints a durable featureflags::Engine
// (one with "state_path" in its options; docs/durability.md) every interval, and once
// more when it stops. The interval is what a crash can cost in counts.
//
//   auto engine = featureflags::Engine::create(R"({"state_path": "/var/lib/app/flags.db"})");
//   featureflags::Checkpointer checkpointer(engine, std::chrono::seconds(10));
//   ...                     // destroy the checkpointer before the engine
//
// It throws nothing: a failed checkpoint (a full disk, say) is kept as last_result() and
// the next one tries again, losing nothing. The engine must outlive the checkpointer.
#ifndef FEATUREFLAGS_CHECKPOINTER_HPP
#define FEATUREFLAGS_CHECKPOINTER_HPP

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "featureflags/featureflags.hpp"

namespace featureflags {

class Checkpointer {
 public:
  /// What a checkpoint returned: Status::Ok, or the status and the library's message.
  struct Result {
    Status status = Status::Ok;
    std::string message;
  };

  /// Starts the thread; its first checkpoint is `every` from now.
  Checkpointer(const Engine& engine, std::chrono::milliseconds every)
      : engine_(engine.raw()), thread_([this, every] { run(every); }) {}
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;
  /// Stops the thread and checkpoints once more (see stop()).
  ~Checkpointer() { stop(); }

  /// Stops the thread, waits for it, and checkpoints once more; returns that checkpoint's
  /// result. Idempotent: later calls return the same result.
  Result stop() noexcept {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopped_) return final_;
      stopped_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    final_ = checkpoint();
    return final_;
  }

  /// The result of the most recent background checkpoint (Status::Ok before the first).
  [[nodiscard]] Result last_result() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_;
  }

 private:
  void run(std::chrono::milliseconds every) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, every, [this] { return stopped_; })) {
      lock.unlock();
      Result result = checkpoint();
      lock.lock();
      last_ = std::move(result);
    }
  }

  Result checkpoint() const {
    ff_error* err = nullptr;
    ff_status status = ff_engine_checkpoint(engine_, &err);
    Result result{static_cast<Status>(status), {}};
    if (err != nullptr) {
      result.message = ff_error_message(err);
      ff_error_free(err);
    }
    return result;
  }

  const ff_engine* engine_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
  Result last_;
  Result final_;
  std::thread thread_;  // last: started once every other member is ready
};

}  // namespace featureflags

#endif  // FEATUREFLAGS_CHECKPOINTER_HPP
