#include "engines/image.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engines/rootfs.hpp"

namespace berth::engines {

namespace {
// A named coroutine, not a capturing lambda: g++ 12 destroys lambda temporaries twice
// when they are co_spawned inside another coroutine.
boost::asio::awaitable<std::string> make_tar(ImageRecipe recipe) {
  co_return build_rootfs_tar(recipe.binaries, recipe.directories, recipe.files,
                             recipe.engine_directories, recipe.trees);
}
}  // namespace

boost::asio::awaitable<bool> ensure_image(docker::Docker& docker, const ImageRecipe& recipe) {
  if (recipe.tag.empty())
    throw std::runtime_error("cannot build " + recipe.repo + ": its binaries are not installed");
  if (co_await docker.image_inspect(recipe.reference())) co_return false;
  // Reading binaries and running ldd blocks: do it on a worker thread.
  boost::asio::thread_pool pool(1);
  std::string tar = co_await boost::asio::co_spawn(pool.get_executor(), make_tar(recipe),
                                                   boost::asio::use_awaitable);
  pool.join();
  co_await docker.image_import(tar, recipe.repo, recipe.tag, recipe.changes);
  co_return true;
}

}  // namespace berth::engines
