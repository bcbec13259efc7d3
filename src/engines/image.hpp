// Makes sure an engine's image exists in a Docker daemon, building it from this machine's
// binaries (engines/rootfs) when it is missing: no registry needed.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "docker/docker.hpp"
#include "engines/engine.hpp"

namespace berth::engines {

// Returns true when it had to build the image, false when it was there already.
boost::asio::awaitable<bool> ensure_image(docker::Docker& docker, const ImageRecipe& recipe);

}  // namespace berth::engines
