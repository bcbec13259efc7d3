// Runs blocking work (file I/O, hashing) on a thread pool and resumes the awaiting coroutine on
// its own executor, so the event loop never waits on a disk.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <type_traits>
#include <utility>

namespace berth::backup {

namespace detail {
template <class R>
struct OffloadSignature {
  using type = void(std::exception_ptr, R);
};
template <>
struct OffloadSignature<void> {
  using type = void(std::exception_ptr);
};
}  // namespace detail

// co_await offload(pool, f): f() runs on a pool thread; its result (or exception) comes back
// on the caller's executor. f must own everything it touches until it returns. Not a coroutine
// itself, and callers pass f as a named local: g++ 12 mishandles lambda temporaries inside
// co_await expressions.
template <class F, class R = std::invoke_result_t<F&>>
boost::asio::awaitable<R> offload(boost::asio::thread_pool& pool, F f) {
  namespace asio = boost::asio;
  using Signature = typename detail::OffloadSignature<R>::type;
  auto initiate = [&pool](auto handler, F f) {
    auto work = asio::make_work_guard(asio::get_associated_executor(handler));
    asio::post(pool, [f = std::move(f), handler = std::move(handler),
                      work = std::move(work)]() mutable {
      std::exception_ptr error;
      // Once the handler is handed over, this thread touches the caller's event loop no more:
      // it may be stopped and gone as soon as the handler has run. The work guard goes with the
      // handler, and the executor kept here tracks no work (its end touches nothing).
      auto executor =
          asio::prefer(work.get_executor(), asio::execution::outstanding_work.untracked);
      if constexpr (std::is_void_v<R>) {
        try {
          f();
        } catch (...) {
          error = std::current_exception();
        }
        asio::dispatch(executor,
                       [handler = std::move(handler), error, work = std::move(work)]() mutable {
                         work.reset();
                         std::move(handler)(error);
                       });
      } else {
        R result{};
        try {
          result = f();
        } catch (...) {
          error = std::current_exception();
        }
        asio::dispatch(executor, [handler = std::move(handler), error, result = std::move(result),
                                  work = std::move(work)]() mutable {
          work.reset();
          std::move(handler)(error, std::move(result));
        });
      }
    });
  };
  return asio::async_initiate<const asio::use_awaitable_t<>, Signature>(
      std::move(initiate), asio::use_awaitable, std::move(f));
}

}  // namespace berth::backup
