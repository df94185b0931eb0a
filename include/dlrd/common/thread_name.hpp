// Names the calling thread, so that `top -H`, `ps -L`, perf and gdb tell dlrd's threads apart.
#pragma once

#include <pthread.h>

#include <string>
#include <thread>
#include <utility>

namespace dlrd {

/// Linux keeps 15 bytes of a thread's name: a longer one is cut to that.
inline void name_this_thread(std::string name) {
  if (name.size() > 15) name.resize(15);
  ::pthread_setname_np(::pthread_self(), name.c_str());
}

/// A thread that names itself `name` (see name_this_thread), then runs `body`.
template <class F>
std::thread named_thread(std::string name, F body) {
  return std::thread([name = std::move(name), body = std::move(body)]() mutable {
    name_this_thread(std::move(name));
    body();
  });
}

}  // namespace dlrd
