// The RDB a Redis master sends a replica after SYNC, taken apart as it arrives: the replies
// before it, keep-alive newlines, then the counted or marked payload handed to a sink.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace berth::engines {

// What a replica receives from SYNC, taken apart: the replies to the commands sent before it,
// newlines the master sends while it forks, then the RDB as "$<length>\r\n<bytes>" or, streamed
// from the fork without touching the master's disk, "$EOF:<40-byte mark>\r\n<bytes><mark>".
// Hands the RDB's bytes to the sink as they come. Pure: the unit tests feed it by hand.
class RdbStream {
 public:
  RdbStream(int replies_before, std::function<void(std::string_view)> sink)
      : replies_left_(replies_before), sink_(std::move(sink)) {}
  // Takes the next bytes; false once the RDB is complete. Throws when the first reply (AUTH)
  // is an error or the master answers SYNC with one.
  bool feed(std::string_view data);
  bool done() const { return state_ == State::Done; }
  // The replies before SYNC are all in: time to send it.
  bool replies_done() const { return state_ != State::Replies; }
  int64_t payload_bytes() const { return payload_bytes_; }

 private:
  enum class State { Replies, Header, Counted, Marked, Done };
  void emit(std::string_view piece);
  State state_ = State::Replies;
  int replies_left_;
  int replies_seen_ = 0;
  std::string line_;
  int64_t remaining_ = 0;
  std::string mark_, tail_;  // Marked: the mark, and the last bytes held back until more come
  int64_t payload_bytes_ = 0;
  std::function<void(std::string_view)> sink_;
};

}  // namespace berth::engines
