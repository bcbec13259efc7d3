#include "engines/redis/rdb_stream.hpp"

#include <algorithm>
#include <stdexcept>

namespace berth::engines {

namespace {
constexpr size_t kMaxLine = 64 * 1024;
}  // namespace

void RdbStream::emit(std::string_view piece) {
  payload_bytes_ += static_cast<int64_t>(piece.size());
  if (!piece.empty()) sink_(piece);
}

bool RdbStream::feed(std::string_view data) {
  while (!data.empty() && state_ != State::Done) {
    switch (state_) {
      case State::Replies:
      case State::Header: {
        // Newlines alone are the master's keep-alives while it forks.
        if (state_ == State::Header && line_.empty() && data.front() == '\n') {
          data.remove_prefix(1);
          continue;
        }
        auto eol = data.find('\n');
        line_.append(data.substr(0, eol));
        // Replies and the header are short lines: a longer one is not Redis.
        if (line_.size() > kMaxLine) throw std::runtime_error("redis sent a line of over 64 KiB");
        if (eol == std::string_view::npos) return true;
        data.remove_prefix(eol + 1);
        std::string line = line_;
        line_.clear();
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (state_ == State::Replies) {
          // Only AUTH must succeed; older servers may refuse the REPLCONF options.
          if (replies_seen_++ == 0 && line.starts_with("-"))
            throw std::runtime_error("redis refused AUTH: " + line.substr(1));
          if (--replies_left_ == 0) state_ = State::Header;
        } else if (line.starts_with("$EOF:") && line.size() == 45) {
          mark_ = line.substr(5);
          state_ = State::Marked;
        } else if (line.starts_with("$") && line.size() > 1 && line.size() <= 19 &&
                   line.find_first_not_of("0123456789", 1) == std::string::npos) {
          remaining_ = std::stoll(line.substr(1));
          state_ = remaining_ == 0 ? State::Done : State::Counted;
        } else {
          throw std::runtime_error("redis answered SYNC with: " + line.substr(0, 200));
        }
        break;
      }
      case State::Counted: {
        auto n = static_cast<size_t>(std::min<int64_t>(remaining_, int64_t(data.size())));
        emit(data.substr(0, n));
        data.remove_prefix(n);
        remaining_ -= static_cast<int64_t>(n);
        if (remaining_ == 0) state_ = State::Done;
        break;
      }
      case State::Marked: {
        // The RDB ends at the mark (the master sends nothing after it until the replica
        // acknowledges). The last bytes are held back until it is clear they do not begin it.
        std::string joined = tail_;
        joined.append(data);
        data = {};
        if (auto at = joined.find(mark_); at != std::string::npos) {
          emit(std::string_view(joined).substr(0, at));
          tail_.clear();
          state_ = State::Done;
          break;
        }
        size_t keep = std::min(joined.size(), mark_.size() - 1);
        emit(std::string_view(joined).substr(0, joined.size() - keep));
        tail_ = joined.substr(joined.size() - keep);
        break;
      }
      case State::Done:
        break;
    }
  }
  return state_ != State::Done;
}

}  // namespace berth::engines
