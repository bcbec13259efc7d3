// PostgreSQL's own client library (libpq) driven by coroutines: a connection made, statements
// run and the answer read without ever blocking the event loop, all within one deadline.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace berth::engines::pg {

struct Login {
  std::string host;  // an address: libpq resolves no name on the event loop
  int port = 5432;
  std::string user, password, dbname = "postgres";
};

struct Error : std::runtime_error {
  Error(const std::string& what, bool refused_password = false)
      : std::runtime_error(what), refused_password(refused_password) {}
  bool refused_password;  // the server answered, and refused the password
};

using Row = std::vector<std::optional<std::string>>;  // nullopt: SQL NULL

// Connects, runs `sql` (one statement or several separated by ';') and returns the rows of
// the last result. Throws Error when the connection fails, a statement fails or the deadline
// passes.
boost::asio::awaitable<std::vector<Row>> query(boost::asio::any_io_executor executor,
                                               const Login& login, const std::string& sql,
                                               std::chrono::milliseconds timeout);

// Sets `role`'s password to `next` as a SCRAM-SHA-256 verifier made on this side: the password
// itself never travels or reaches the server's logs.
boost::asio::awaitable<void> set_password(boost::asio::any_io_executor executor, const Login& login,
                                          const std::string& role, const std::string& next,
                                          std::chrono::milliseconds timeout);

// 'text' as an SQL string literal; "name" as an SQL identifier.
std::string literal(const std::string& text);
std::string identifier(const std::string& name);

}  // namespace berth::engines::pg
