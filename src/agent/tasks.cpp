// The agent's side of tasks: claim what the leader dispatched to this host, run it, and end it
// in one transaction with its result, so a worker that dies leaves nothing half-recorded.
#include "agent/tasks.hpp"

#include <chrono>

#include "agent/supervisor.hpp"
#include "util/log.hpp"

namespace berth::agent {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

TaskRunner::TaskRunner(asio::any_io_executor executor, store::Store& store, docker::Docker& docker,
                       const Options& options, TaskHost& host)
    : executor_(executor),
      store_(store),
      docker_(docker),
      options_(options),
      host_(host),
      tasks_(executor, store, keys::kTasks),
      scope_(executor) {}

void TaskRunner::start() {
  scope_.spawn(tasks_.run(), "agent " + options_.name + ": tasks");
  scope_.spawn(task_loop(), "agent " + options_.name + ": task loop");
}

asio::awaitable<void> TaskRunner::stop() {
  co_await scope_.stop();
}

asio::awaitable<void> TaskRunner::task_loop() {
  for (;;) {
    co_await tasks_.wait_change(2s);
    if (!tasks_.loaded() || host_.lease() == 0 || host_.fenced()) continue;
    for (auto* kv : tasks_.under(keys::kTasks)) {
      auto task = model::parse<model::Task>(kv->value);
      if (task.state != model::TaskState::pending || task.worker != options_.name ||
          running_tasks_.count(task.id))
        continue;
      // Claim it: the task runs here, under this agent's lease.
      task.state = model::TaskState::running;
      task.attempts += 1;
      task.started_at = model::now_rfc3339();
      task.log.push_back(task.started_at + " running on " + options_.name + " (attempt " +
                         std::to_string(task.attempts) + ")");
      std::vector<store::Compare> unchanged{
          store::Compare::mod_revision_is(kv->key, kv->mod_revision),
          store::Compare::absent(keys::task_claim(task.id))};
      std::vector<store::Operation> claim{
          store::Operation::put(kv->key, model::dump(task)),
          store::Operation::put(keys::task_claim(task.id), options_.name, host_.lease())};
      try {
        auto result = co_await store_.txn(unchanged, claim);
        if (!result.succeeded) continue;
        co_await tasks_.wait_revision(result.revision, 2s);
      } catch (const std::exception& e) {
        util::log("agent {}: claiming task {}: {}", options_.name, task.id, e.what());
        continue;
      }
      running_tasks_.insert(task.id);
      scope_.spawn(run_task(task.id), "agent " + options_.name + ": task " + task.id);
    }
  }
}

asio::awaitable<bool> TaskRunner::modify_task(const std::string& id,
                                              std::function<void(model::Task&)> modify,
                                              std::vector<store::Operation> also) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto* kv = tasks_.find(keys::task(id));
    if (!kv) co_return false;
    auto task = model::parse<model::Task>(kv->value);
    modify(task);
    std::vector<store::Compare> ours{store::Compare::mod_revision_is(kv->key, kv->mod_revision),
                                     store::Compare::value_is(keys::task_claim(id), options_.name)};
    std::vector<store::Operation> ops{store::Operation::put(kv->key, model::dump(task))};
    ops.insert(ops.end(), also.begin(), also.end());
    auto result = co_await store_.txn(ours, ops);
    if (result.succeeded) {
      co_await tasks_.wait_revision(result.revision, 2s);
      co_return true;
    }
    // Someone else wrote the task meanwhile (a cancel request): read it again.
    auto claim = co_await store_.get(keys::task_claim(id));
    if (claim.kvs.empty() || claim.kvs[0].value != options_.name) co_return false;
    co_await tasks_.wait_change(200ms);
  }
  co_return false;
}

namespace {
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};
}  // namespace

asio::awaitable<void> TaskRunner::report_progress(std::string id, int percent, std::string line) {
  bool cancel = false;
  bool ours = co_await modify_task(id, [&](model::Task& t) {
    cancel = t.cancel_requested;
    t.progress = percent;
    t.log.push_back(model::now_rfc3339() + " " + (cancel ? "stopping: cancel requested" : line));
  });
  if (!ours) throw std::runtime_error("the task is no longer ours");
  if (cancel) throw Cancelled();  // between steps, before anything is recorded
}

asio::awaitable<void> TaskRunner::run_task(std::string id) {
  std::string failure;
  bool cancelled = false;
  try {
    auto task = model::parse<model::Task>(tasks_.find(keys::task(id))->value);
    auto owner = keys::instance_owner(task.database_id, task.instance);
    auto* instance = host_.instance(owner);
    auto* engine = instance ? options_.find_engine(instance->allocation().engine) : nullptr;
    if (!engine) throw std::runtime_error("instance " + owner + " does not run on this host");
    if (task.kind == model::TaskKind::backup)
      co_await run_backup(task, *instance, *engine);
    else if (task.kind == model::TaskKind::restore)
      co_await run_restore(task, owner, *engine);
    else
      throw std::runtime_error("unknown task kind " + model::to_string(task.kind));
  } catch (const Cancelled& e) {
    failure = e.what();
    cancelled = true;
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    util::log("agent {}: task {} failed: {}", options_.name, id, failure);
    std::vector<store::Operation> also{store::Operation::erase(keys::task_claim(id))};
    try {
      // A failed restore's database leaves maintenance by the leader's hand (controller/tasks).
      co_await modify_task(
          id,
          [&](model::Task& t) {
            t.state = cancelled ? model::TaskState::cancelled : model::TaskState::failed;
            t.error = cancelled ? "" : failure;
            t.finished_at = model::now_rfc3339();
            t.log.push_back(t.finished_at + " " + model::to_string(t.state) +
                            (cancelled ? "" : ": " + failure));
          },
          also);
    } catch (const std::exception& e) {
      util::log("agent {}: recording the failure of task {}: {}", options_.name, id, e.what());
    }
  }
  running_tasks_.erase(id);
}

}  // namespace berth::agent
