// The engine interface: everything berth knows about one database engine (image recipe,
// container spec, health probe and replication over its own protocol, metrics). One folder
// per engine implements it; nothing engine-specific lives outside src/engines/<engine>/.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "docker/docker.hpp"
#include "engines/probe.hpp"
#include "engines/rootfs.hpp"
#include "model/model.hpp"

namespace berth::engines {

// What an engine can do: the API, the controllers and the UI ask, never the engine's name.
struct Capabilities {
  bool replication = false;      // --replicas, failover, switchover
  bool persistent = false;       // keeps data across restarts (on its host's volume)
  bool users = false;            // a user name goes with the password
  bool shrink_in_place = false;  // its memory limit can go down without a restart
  bool password_optional = false;
  bool password_auth = true;  // a password can be set at all
  // Replicas cannot follow a primary restored from a backup (their logs diverge): a restore
  // gives them fresh data volumes to join from scratch.
  bool restore_reseeds_replicas = false;
  bool backups = true;  // of a persistent engine: berth can back it up and restore it
};

// The replication role an agent wants an instance to have.
struct RoleConfig {
  std::string role;  // primary or replica
  std::string primary_ip;
  int primary_port = 0;
  int min_replicas_to_write = 0;
  bool fenced = false;  // refuse writes: the agent lost its lease
};

// How to make the engine's image from binaries installed on this machine.
struct ImageRecipe {
  std::string repo;  // berth/redis
  std::string tag;   // the installed version
  std::vector<std::string> binaries;
  std::vector<std::string> directories;
  std::vector<std::string> engine_directories;  // the engine user's: data, secrets
  std::vector<std::string> changes;             // Dockerfile lines: CMD [...]
  std::vector<RootfsFile> files;                // made-up files: configuration the engine reads
  std::vector<ImageTree> trees;                 // folders copied whole (data files, modules)
  std::string reference() const { return repo + ":" + tag; }
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  // The installed version ("" when the engine's binaries are missing on this machine).
  virtual std::string version() const = 0;
  virtual int port() const = 0;
  virtual int64_t min_memory_mb() const { return 32; }
  virtual Capabilities capabilities() const = 0;
  // The user clients authenticate as ("" when the engine has only a password).
  virtual std::string user() const { return ""; }
  // The database inside the engine that clients name ("" when the engine has no such thing).
  virtual std::string sql_database(const std::string& database_name) const {
    (void)database_name;
    return "";
  }
  // How a person connects with the engine's own client, for `berth run` to print. dbname:
  // sql_database's.
  virtual std::string connect_command(const std::string& address, int port,
                                      const std::string& password,
                                      const std::string& dbname) const = 0;
  // What a user must know about the database as created (e.g. that it is open to all).
  virtual std::vector<std::string> notes(bool has_password) const {
    (void)has_password;
    return {};
  }
  virtual ImageRecipe image_recipe() const = 0;
  // The spec never holds the password (docker inspect shows a spec): the engine reads it from
  // secret_files, which the agent puts into the container before it starts.
  virtual docker::ContainerSpec container_spec(const model::Allocation& allocation) const = 0;
  // Files under kSecretDir, the engine user's, mode 0600.
  virtual std::vector<RootfsFile> secret_files(const model::Allocation& allocation) const {
    (void)allocation;
    return {};
  }
  virtual boost::asio::awaitable<ProbeResult> probe(
      boost::asio::any_io_executor executor, const std::string& ip, int port,
      const std::string& password,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(1000)) const = 0;
  // Brings the instance to the role in config; a no-op when it is there already.
  virtual boost::asio::awaitable<void> apply_role(boost::asio::any_io_executor executor,
                                                  const std::string& ip, int port,
                                                  const std::string& password,
                                                  const RoleConfig& config,
                                                  const ProbeResult& current) const = 0;
  // A planned switchover, on the primary: hold (or refuse) writes for at most `hold`, and
  // return the replication offset reached, which the replica's probe offset must reach.
  virtual boost::asio::awaitable<int64_t> pause_writes(boost::asio::any_io_executor executor,
                                                       const std::string& ip, int port,
                                                       const std::string& password,
                                                       std::chrono::milliseconds hold) const = 0;
  // The switchover gave up: writes go on as before.
  virtual boost::asio::awaitable<void> resume_writes(boost::asio::any_io_executor executor,
                                                     const std::string& ip, int port,
                                                     const std::string& password) const = 0;
  // The switchover is done: the old primary follows the new one, and the writes it held fail
  // (never acknowledged) so their clients reconnect to the database address.
  virtual boost::asio::awaitable<void> follow(boost::asio::any_io_executor executor,
                                              const std::string& ip, int port,
                                              const std::string& password,
                                              const std::string& primary_ip,
                                              int primary_port) const = 0;
  // Backups, streamed: an engine that can send a consistent snapshot over its own protocol
  // (Redis: the RDB its replication makes in a fork, never written to its disk) names the one
  // file it makes; stream_backup hands its bytes to on_data as they arrive.
  virtual std::string streamed_backup_file() const { return ""; }
  virtual boost::asio::awaitable<void> stream_backup(
      boost::asio::any_io_executor executor, const std::string& ip, int port,
      const std::string& password, const std::function<void(std::string_view)>& on_data) const {
    (void)executor, (void)ip, (void)port, (void)password, (void)on_data;
    throw std::logic_error(name() + " cannot stream a backup");
    co_return;
  }
  // Backups. The engine makes a consistent snapshot inside the instance and names the files
  // (paths in the container) that hold it; empty when the engine keeps no data.
  virtual boost::asio::awaitable<std::vector<std::string>> snapshot_for_backup(
      boost::asio::any_io_executor executor, const std::string& ip, int port,
      const std::string& password) const {
    (void)executor, (void)ip, (void)port, (void)password;
    co_return std::vector<std::string>{};
  }
  // What to put in a fresh data volume (paths relative to it) so that the engine starts with
  // the backed-up data; backup_files are the snapshot's files by name.
  virtual std::vector<RootfsFile> restore_files(
      const std::map<std::string, std::string>& backup_files) const {
    (void)backup_files;
    return {};
  }
  virtual std::string data_dir() const { return "/data"; }
  // Verification: the command that loads the backup's files (unpacked in dir) with the
  // engine's own code in a scratch container, and what its exit code and output say.
  // Empty command: the engine cannot verify.
  virtual std::vector<std::string> verify_command(const std::string& dir) const {
    (void)dir;
    return {};
  }
  struct Verification {
    bool ok = false;
    std::string message;  // e.g. "100000 keys"
  };
  virtual Verification read_verification(int exit_code, const std::string& output) const {
    (void)output;
    return {exit_code == 0, "exit code " + std::to_string(exit_code)};
  }
  // The memory the engine's data may take within memory_mb: a restore must fit in it.
  virtual int64_t data_memory_bytes(int64_t memory_mb) const {
    return memory_mb * 1024 * 1024 * 80 / 100;
  }

  // Whether this instance can only take a new memory limit by a restart (a new container).
  virtual bool resize_restarts(const model::Allocation& allocation) const {
    (void)allocation;
    return false;
  }
  // Changes the engine's own memory limit in place (the container limit is Docker's).
  virtual boost::asio::awaitable<void> resize(boost::asio::any_io_executor executor,
                                              const std::string& ip, int port,
                                              const std::string& password,
                                              int64_t memory_mb) const = 0;

  // A password rotation, live: the files the running container needs for the new password
  // (its secret files, for its next start, and whatever the engine reads at each login), put
  // by the agent; then set_password tells the engine, authenticating with the current one.
  // After both, the instance answers to the new password only. (An engine that replicates its
  // users takes the new one from its primary on a replica.) hostname: the container's.
  virtual boost::asio::awaitable<std::vector<RootfsFile>> password_files(
      boost::asio::any_io_executor executor, const model::Allocation& allocation,
      const std::string& hostname) const;
  virtual boost::asio::awaitable<void> set_password(boost::asio::any_io_executor executor,
                                                    const std::string& ip, int port,
                                                    const std::string& current,
                                                    const std::string& next) const = 0;
};

const Engine* find_engine(const std::string& name);
std::vector<const Engine*> all_engines();
std::string engine_names();  // "redis, ..." for error messages

// Labels every berth container carries, so agents find their own after any restart.
namespace labels {
inline const std::string kInstance = "berth.instance";  // "<database id>/<n>"
inline const std::string kDatabase = "berth.database";
inline const std::string kHost = "berth.host";
inline const std::string kSpec = "berth.spec";        // hash of the allocation the container runs
inline const std::string kData = "berth.data";        // the data generation its volume holds
inline const std::string kVolume = "berth.volume";    // the volume holding its data
inline const std::string kCluster = "berth.cluster";  // the cluster id of the etcd that made it
}  // namespace labels

// Where an engine's secret_files go in its container: a volume of the container's own (the root
// file system is read-only), kept across its restarts and removed with it.
inline const std::string kSecretDir = "/run/berth";

// What every engine's container is, before the engine's command and data: its name and image,
// the memory limit, the engine user, a read-only root file system and the secrets' volume.
docker::ContainerSpec base_container_spec(const Engine& engine,
                                          const model::Allocation& allocation);
// A tar of secret files to put into kSecretDir (names relative to it).
std::string secrets_tar(const std::vector<RootfsFile>& files);

std::string container_name(const model::Allocation& allocation);
std::string volume_name(const model::Allocation& allocation);
std::string volume_name(const std::string& database_id, int n);

}  // namespace berth::engines
