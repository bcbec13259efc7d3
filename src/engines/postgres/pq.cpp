#include "engines/postgres/pq.hpp"

#include <libpq-fe.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

namespace berth::engines::pg {

namespace asio = boost::asio;
using Descriptor = asio::posix::stream_descriptor;

namespace {

std::string message_of(const char* text) {
  std::string m = text ? text : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

struct Connection {
  PGconn* conn = nullptr;
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (conn) PQfinish(conn);
  }
  std::string error() const { return message_of(PQerrorMessage(conn)); }
};

// Waits for the connection's socket, never past the deadline. The socket stays libpq's: it is
// released, never closed, here.
class Waiter {
 public:
  Waiter(asio::any_io_executor executor, std::chrono::steady_clock::time_point deadline)
      : socket_(executor), timer_(executor), deadline_(deadline) {}
  ~Waiter() {
    if (socket_.is_open()) socket_.release();
  }

  asio::awaitable<void> wait(int fd, Descriptor::wait_type what) {
    using namespace asio::experimental::awaitable_operators;
    if (fd < 0) throw Error("postgres: the connection has no socket");
    if (socket_.is_open() && socket_.native_handle() != fd) socket_.release();
    if (!socket_.is_open()) socket_.assign(fd);
    timer_.expires_at(deadline_);
    auto ready = socket_.async_wait(what, asio::use_awaitable);
    auto late = timer_.async_wait(asio::use_awaitable);
    auto first = co_await (std::move(ready) || std::move(late));
    if (first.index() == 1) throw Error("postgres: no answer in time");
  }

 private:
  Descriptor socket_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;
};

asio::awaitable<void> connect(Connection& c, Waiter& waiter, const Login& login) {
  std::string port = std::to_string(login.port);
  const char* keys[] = {"hostaddr",         "port", "user", "password", "dbname", "sslmode",
                        "application_name", nullptr};
  const char* values[] = {login.host.c_str(),
                          port.c_str(),
                          login.user.c_str(),
                          login.password.c_str(),
                          login.dbname.c_str(),
                          "disable",
                          "berth",
                          nullptr};
  c.conn = PQconnectStartParams(keys, values, 0);
  if (!c.conn) throw Error("postgres: out of memory");
  if (PQstatus(c.conn) == CONNECTION_BAD) throw Error("postgres: " + c.error());
  // As libpq's manual says: before the first poll, act as if it asked to write.
  auto state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) {
      std::string m = c.error();
      throw Error(login.host + ":" + port + ": " + m,
                  m.find("password authentication failed") != std::string::npos);
    }
    co_await waiter.wait(PQsocket(c.conn), state == PGRES_POLLING_READING ? Descriptor::wait_read
                                                                          : Descriptor::wait_write);
    state = PQconnectPoll(c.conn);
  }
  if (PQsetnonblocking(c.conn, 1) != 0) throw Error("postgres: " + c.error());
}

asio::awaitable<std::vector<Row>> run(Connection& c, Waiter& waiter, const std::string& sql) {
  if (!PQsendQuery(c.conn, sql.c_str())) throw Error("postgres: " + c.error());
  for (int left; (left = PQflush(c.conn)) != 0;) {
    if (left < 0) throw Error("postgres: " + c.error());
    co_await waiter.wait(PQsocket(c.conn), Descriptor::wait_write);
  }
  std::vector<Row> rows;
  std::string failure;
  for (;;) {
    while (PQisBusy(c.conn)) {
      co_await waiter.wait(PQsocket(c.conn), Descriptor::wait_read);
      if (!PQconsumeInput(c.conn)) throw Error("postgres: " + c.error());
    }
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQgetResult(c.conn), &PQclear);
    if (!result) break;
    auto status = PQresultStatus(result.get());
    if (status == PGRES_TUPLES_OK) {
      rows.clear();
      for (int r = 0; r < PQntuples(result.get()); ++r) {
        Row row;
        for (int f = 0; f < PQnfields(result.get()); ++f)
          row.push_back(PQgetisnull(result.get(), r, f)
                            ? std::nullopt
                            : std::optional<std::string>(PQgetvalue(result.get(), r, f)));
        rows.push_back(std::move(row));
      }
    } else if (status == PGRES_COMMAND_OK) {
      rows.clear();
    } else if (failure.empty()) {
      failure = message_of(PQresultErrorMessage(result.get()));
    }
  }
  if (!failure.empty()) throw Error("postgres: " + failure);
  co_return rows;
}

}  // namespace

asio::awaitable<std::vector<Row>> query(asio::any_io_executor executor, const Login& login,
                                        const std::string& sql, std::chrono::milliseconds timeout) {
  Connection c;
  Waiter waiter(executor, std::chrono::steady_clock::now() + timeout);
  co_await connect(c, waiter, login);
  co_return co_await run(c, waiter, sql);
}

asio::awaitable<void> set_password(asio::any_io_executor executor, const Login& login,
                                   const std::string& role, const std::string& next,
                                   std::chrono::milliseconds timeout) {
  Connection c;
  Waiter waiter(executor, std::chrono::steady_clock::now() + timeout);
  co_await connect(c, waiter, login);
  std::unique_ptr<char, decltype(&PQfreemem)> verifier(
      PQencryptPasswordConn(c.conn, next.c_str(), role.c_str(), "scram-sha-256"), &PQfreemem);
  if (!verifier) throw Error("postgres: " + c.error());
  co_await run(c, waiter,
               "ALTER ROLE " + identifier(role) + " PASSWORD " + literal(verifier.get()));
}

std::string literal(const std::string& text) {
  std::string out = "'";
  for (char ch : text) out += ch == '\'' ? std::string("''") : std::string(1, ch);
  return out + "'";
}

std::string identifier(const std::string& name) {
  std::string out = "\"";
  for (char ch : name) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

}  // namespace berth::engines::pg
