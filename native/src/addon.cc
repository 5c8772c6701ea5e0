// Native layer, JS side: the N-API surface typed as NativeBinding in index.ts, over sys.h.
// Arguments are checked here (TypeError); system failures become Errors carrying errno/code/syscall.
#include <napi.h>
#include <sys/file.h>
#include <uv.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <thread>
#include <unordered_map>

#include "sys.h"

namespace tscni {
namespace {

Napi::Error ToJsError(Napi::Env env, const SysError& e) {
  std::string code = ErrnoName(e.err);
  std::string message = e.syscall;
  if (!e.detail.empty()) message += "(" + e.detail + ")";
  message += ": " + code + " (" + std::strerror(e.err) + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, e.err));
  error.Set("code", Napi::String::New(env, code));
  error.Set("syscall", Napi::String::New(env, e.syscall));
  return error;
}

void ThrowIf(Napi::Env env, const SysError& e) {
  if (e) throw ToJsError(env, e);
}

[[noreturn]] void ThrowType(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

int FdArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  Napi::Value v = info[i];
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0 && d <= INT32_MAX && std::floor(d) == d)) {
    ThrowType(info.Env(), std::string(fn) + ": fd must be a non-negative integer");
  }
  return static_cast<int>(d);
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what) {
  Napi::Value v = info[i];
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
  if (s.empty() || s.find('\0') != std::string::npos) {
    ThrowType(info.Env(), std::string(fn) + ": " + what + " must be a non-empty string without NUL");
  }
  return s;
}

std::optional<std::string> NetnsArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (info[i].IsNull() || info[i].IsUndefined()) return std::nullopt;
  return StringArg(info, i, fn, "netnsPath (or null)");
}

bool BoolArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what) {
  if (!info[i].IsBoolean()) ThrowType(info.Env(), std::string(fn) + ": " + what + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::optional<bool> OptionalBool(const Napi::Object& o, const char* key, const char* fn) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return std::nullopt;
  if (!v.IsBoolean()) ThrowType(o.Env(), std::string(fn) + ": opts." + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::optional<uint32_t> OptionalId(const Napi::Object& o, const char* key, const char* fn) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return std::nullopt;
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0 && d <= UINT32_MAX && std::floor(d) == d)) {
    ThrowType(o.Env(), std::string(fn) + ": opts." + key + " must be a uid/gid integer");
  }
  return static_cast<uint32_t>(d);
}

Napi::Promise NewPromise(Napi::Env env, napi_deferred* deferred) {
  napi_value promise;
  if (napi_create_promise(env, deferred, &promise) != napi_ok) throw Napi::Error::New(env);
  return Napi::Promise(env, promise);
}

void Settle(Napi::Env env, napi_deferred deferred, const SysError& e, Napi::Value value) {
  if (e) {
    napi_reject_deferred(env, deferred, ToJsError(env, e).Value());
  } else {
    napi_resolve_deferred(env, deferred, value);
  }
}

// One datagram without waiting; EAGAIN when none is queued. The buffer is sized from a MSG_TRUNC
// peek and received into directly, so nothing is copied and nothing is cut.
SysError TryRecv(Napi::Env env, int fd, Napi::Value* out) {
  size_t size = 0;
  if (SysError e = DatagramSize(fd, false, &size)) return e;
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, size);
  size_t got = 0;
  if (SysError e = RecvInto(fd, static_cast<uint8_t*>(buffer.Data()), size, &got)) return e;
  *out = Napi::Uint8Array::New(env, got, buffer, 0);
  return {};
}

// ---- flock: a blocking flock(2) must not hold the JS thread, nor a libuv pool thread (the pool is
// shared with fs; waiters filling it could starve the lock holder's own file I/O). So a contended
// lock waits on a dedicated detached thread and reports back through a thread-safe function.

struct FlockJob {
  napi_deferred deferred;
  int fd;
  int op;
  SysError result;
};

void SettleFlock(Napi::Env env, Napi::Function, FlockJob* job, void*) {
  // env is null when the environment is shutting down: nobody is waiting any more.
  if (env != nullptr) Settle(env, job->deferred, job->result, env.Undefined());
  delete job;
}

using FlockTsfn = Napi::TypedThreadSafeFunction<FlockJob, void, SettleFlock>;

// ---- netlinkRecvAsync: the descriptor is watched with uv_poll on the JS event loop rather than a
// worker blocked in recv()/poll(): no thread is held while waiting (nothing can hang at exit, no
// pool slot is taken), and close() can cancel a wait deterministically. One uv_poll handle per fd
// (libuv forbids several on one fd); concurrent receivers queue on it in call order.

struct PollShared {
  int closing = 0;
  bool tearing_down = false;
  napi_async_cleanup_hook_handle hook = nullptr;
};

class Native;

struct RecvPoll {
  uv_poll_t handle;
  int fd;
  Native* owner;
  std::deque<napi_deferred> waiters;
  std::shared_ptr<PollShared> shared;
};

void OnPollClosed(uv_handle_t* handle) {
  auto* poll = static_cast<RecvPoll*>(handle->data);
  std::shared_ptr<PollShared> shared = std::move(poll->shared);
  delete poll;
  if (--shared->closing == 0 && shared->tearing_down && shared->hook != nullptr) {
    napi_remove_async_cleanup_hook(shared->hook);
    shared->hook = nullptr;
  }
}

void CloseRecvPoll(RecvPoll* poll) {
  uv_poll_stop(&poll->handle);
  ++poll->shared->closing;
  uv_close(reinterpret_cast<uv_handle_t*>(&poll->handle), OnPollClosed);
}

class Native : public Napi::Addon<Native> {
 public:
  Native(Napi::Env env, Napi::Object exports)
      : env_(env), recv_context_(env, "tscni:netlinkRecv"), shared_(std::make_shared<PollShared>()) {
    if (napi_get_uv_event_loop(env, &loop_) != napi_ok) throw Napi::Error::New(env);
    if (napi_add_async_cleanup_hook(env, &Native::OnEnvCleanup, this, &shared_->hook) != napi_ok) {
      throw Napi::Error::New(env);
    }
    DefineAddon(exports, {
        InstanceMethod<&Native::NetnsCreate>("netnsCreate", napi_enumerable),
        InstanceMethod<&Native::NetnsDelete>("netnsDelete", napi_enumerable),
        InstanceMethod<&Native::NetnsInode>("netnsInode", napi_enumerable),
        InstanceMethod<&Native::NetlinkOpen>("netlinkOpen", napi_enumerable),
        InstanceMethod<&Native::NetlinkSend>("netlinkSend", napi_enumerable),
        InstanceMethod<&Native::NetlinkRecv>("netlinkRecv", napi_enumerable),
        InstanceMethod<&Native::NetlinkRecvAsync>("netlinkRecvAsync", napi_enumerable),
        InstanceMethod<&Native::OpenInNetns>("openInNetns", napi_enumerable),
        InstanceMethod<&Native::UdpOpen>("udpOpen", napi_enumerable),
        InstanceMethod<&Native::Close>("close", napi_enumerable),
        InstanceMethod<&Native::Flock>("flock", napi_enumerable),
        InstanceMethod<&Native::Funlock>("funlock", napi_enumerable),
        InstanceMethod<&Native::TunCreate>("tunCreate", napi_enumerable),
    });
  }

  ~Native() {
    if (shared_->hook != nullptr && !shared_->tearing_down) {
      napi_remove_async_cleanup_hook(shared_->hook);
      shared_->hook = nullptr;
    }
  }

  // Called from uv_poll on the JS thread. Promises settle inside a callback scope so that their
  // reactions (microtasks) run when it closes, as for any other I/O callback.
  void Deliver(RecvPoll* poll, int status) {
    Napi::Env env(env_);
    Napi::HandleScope handles(env);
    Napi::CallbackScope callback(env, recv_context_);
    try {
      while (!poll->waiters.empty()) {
        Napi::Value datagram = env.Undefined();
        SysError e = status < 0 ? SysError{-status, "uv_poll", "fd " + std::to_string(poll->fd)}
                                : TryRecv(env, poll->fd, &datagram);
        if (e.err == EAGAIN) break;
        napi_deferred deferred = poll->waiters.front();
        poll->waiters.pop_front();
        Settle(env, deferred, e, datagram);
      }
    } catch (const Napi::Error& error) {
      napi_fatal_exception(env, error.Value());
    }
    if (poll->waiters.empty()) {
      polls_.erase(poll->fd);
      CloseRecvPoll(poll);
    }
  }

 private:
  static void OnPollEvent(uv_poll_t* handle, int status, int /*events*/) {
    auto* poll = static_cast<RecvPoll*>(handle->data);
    poll->owner->Deliver(poll, status);
  }

  // Environment teardown (process or worker exit): close every uv_poll handle so the loop can
  // close; the hook is removed once the last close callback has run.
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg) {
    auto* self = static_cast<Native*>(arg);
    self->shared_->tearing_down = true;
    for (auto& [fd, poll] : self->polls_) CloseRecvPoll(poll);
    self->polls_.clear();
    if (self->shared_->closing == 0) {
      napi_remove_async_cleanup_hook(handle);
      self->shared_->hook = nullptr;
    }
  }

  Napi::Value NetnsCreate(const Napi::CallbackInfo& info) {
    ThrowIf(info.Env(), tscni::NetnsCreate(StringArg(info, 0, "netnsCreate", "path")));
    return info.Env().Undefined();
  }

  Napi::Value NetnsDelete(const Napi::CallbackInfo& info) {
    ThrowIf(info.Env(), tscni::NetnsDelete(StringArg(info, 0, "netnsDelete", "path")));
    return info.Env().Undefined();
  }

  Napi::Value NetnsInode(const Napi::CallbackInfo& info) {
    uint64_t ino = 0;
    ThrowIf(info.Env(), StatInode(StringArg(info, 0, "netnsInode", "path"), &ino));
    return Napi::Number::New(info.Env(), static_cast<double>(ino));
  }

  Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
    Napi::Value p = info[0];
    double protocol = p.IsNumber() ? p.As<Napi::Number>().DoubleValue() : -1;
    if (!(protocol >= 0 && protocol <= 255 && std::floor(protocol) == protocol)) {
      ThrowType(info.Env(), "netlinkOpen: protocol must be an integer 0..255");
    }
    int fd = -1;
    ThrowIf(info.Env(), tscni::NetlinkOpen(static_cast<int>(protocol),
                                           NetnsArg(info, 1, "netlinkOpen"), &fd));
    return Napi::Number::New(info.Env(), fd);
  }

  Napi::Value NetlinkSend(const Napi::CallbackInfo& info) {
    int fd = FdArg(info, 0, "netlinkSend");
    if (!info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      ThrowType(info.Env(), "netlinkSend: buf must be a Uint8Array");
    }
    Napi::Uint8Array buf = info[1].As<Napi::Uint8Array>();
    size_t sent = 0;
    ThrowIf(info.Env(), tscni::NetlinkSend(fd, buf.Data(), buf.ByteLength(), &sent));
    return Napi::Number::New(info.Env(), static_cast<double>(sent));
  }

  Napi::Value NetlinkRecv(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = FdArg(info, 0, "netlinkRecv");
    for (;;) {
      size_t size = 0;
      ThrowIf(env, DatagramSize(fd, true, &size));
      Napi::Value datagram;
      SysError e = TryRecv(env, fd, &datagram);
      if (e.err == EAGAIN) continue;  // another reader took it between the wait and the read
      ThrowIf(env, e);
      return datagram;
    }
  }

  Napi::Value NetlinkRecvAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = FdArg(info, 0, "netlinkRecvAsync");
    napi_deferred deferred;
    Napi::Promise promise = NewPromise(env, &deferred);
    auto found = polls_.find(fd);
    if (found != polls_.end()) {
      found->second->waiters.push_back(deferred);
      return promise;
    }
    // Fast path: rtnetlink answers inside sendto(), so the reply is usually queued already.
    Napi::Value datagram = env.Undefined();
    SysError e = TryRecv(env, fd, &datagram);
    if (e.err != EAGAIN) {
      Settle(env, deferred, e, datagram);
      return promise;
    }
    auto* poll = new RecvPoll{{}, fd, this, {deferred}, shared_};
    poll->handle.data = poll;
    int rc = uv_poll_init(loop_, &poll->handle, fd);
    if (rc != 0) {
      delete poll;
      Settle(env, deferred, SysError{-rc, "uv_poll_init", "fd " + std::to_string(fd)}, datagram);
      return promise;
    }
    rc = uv_poll_start(&poll->handle, UV_READABLE, &Native::OnPollEvent);
    if (rc != 0) {
      poll->waiters.clear();
      CloseRecvPoll(poll);
      Settle(env, deferred, SysError{-rc, "uv_poll_start", "fd " + std::to_string(fd)}, datagram);
      return promise;
    }
    polls_.emplace(fd, poll);
    return promise;
  }

  Napi::Value OpenInNetns(const Napi::CallbackInfo& info) {
    std::optional<std::string> netns = NetnsArg(info, 0, "openInNetns");
    std::string file = StringArg(info, 1, "openInNetns", "file");
    Napi::Value f = info[2];
    double flags = f.IsNumber() ? f.As<Napi::Number>().DoubleValue() : -1;
    if (!(flags >= 0 && flags <= INT32_MAX && std::floor(flags) == flags)) {
      ThrowType(info.Env(), "openInNetns: flags must be a non-negative integer (fs.constants.O_*)");
    }
    int fd = -1;
    ThrowIf(info.Env(), tscni::OpenInNetns(netns, file, static_cast<int>(flags), &fd));
    return Napi::Number::New(info.Env(), fd);
  }

  Napi::Value UdpOpen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::optional<std::string> netns = NetnsArg(info, 0, "udpOpen");
    if (!info[1].IsObject()) ThrowType(env, "udpOpen: opts must be an object");
    Napi::Object o = info[1].As<Napi::Object>();
    Napi::Value p = o.Get("port");
    double port = p.IsNumber() ? p.As<Napi::Number>().DoubleValue() : -1;
    if (!(port >= 0 && port <= 65535 && std::floor(port) == port)) {
      ThrowType(env, "udpOpen: opts.port must be an integer 0..65535");
    }
    UdpOptions opts;
    opts.port = static_cast<uint16_t>(port);
    Napi::Value device = o.Get("bindToDevice");
    if (!device.IsUndefined()) {
      std::string name = device.IsString() ? device.As<Napi::String>().Utf8Value() : std::string();
      if (name.empty() || name.find('\0') != std::string::npos) {
        ThrowType(env, "udpOpen: opts.bindToDevice must be a non-empty interface name without NUL");
      }
      opts.bind_to_device = name;
    }
    opts.broadcast = OptionalBool(o, "broadcast", "udpOpen").value_or(false);
    opts.reuse_addr = OptionalBool(o, "reuseAddr", "udpOpen").value_or(false);
    int fd = -1;
    ThrowIf(env, tscni::UdpOpen(netns, opts, &fd));
    return Napi::Number::New(env, fd);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = FdArg(info, 0, "close");
    auto found = polls_.find(fd);
    if (found != polls_.end()) {
      RecvPoll* poll = found->second;
      polls_.erase(found);
      for (napi_deferred deferred : poll->waiters) {
        Settle(env, deferred, SysError{EBADF, "recv", "fd " + std::to_string(fd) + " closed"},
               env.Undefined());
      }
      poll->waiters.clear();
      CloseRecvPoll(poll);
    }
    ThrowIf(env, CloseFd(fd));
    return env.Undefined();
  }

  Napi::Value Flock(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = FdArg(info, 0, "flock");
    int op = BoolArg(info, 1, "flock", "exclusive") ? LOCK_EX : LOCK_SH;
    napi_deferred deferred;
    Napi::Promise promise = NewPromise(env, &deferred);
    // Uncontended (the usual case): taken right here without a thread.
    SysError e = tscni::Flock(fd, op | LOCK_NB);
    if (e.err != EWOULDBLOCK) {
      Settle(env, deferred, e, env.Undefined());
      return promise;
    }
    auto* job = new FlockJob{deferred, fd, op, {}};
    FlockTsfn done = FlockTsfn::New(env, "tscni:flock", 0, 1, job);
    try {
      std::thread([done, job]() mutable {
        job->result = tscni::Flock(job->fd, job->op);
        if (done.BlockingCall() != napi_ok) delete job;
        done.Release();
      }).detach();
    } catch (const std::system_error& error) {
      done.Release();
      Settle(env, deferred, SysError{error.code().value(), "pthread_create", "flock waiter"},
             env.Undefined());
      delete job;
    }
    return promise;
  }

  Napi::Value Funlock(const Napi::CallbackInfo& info) {
    ThrowIf(info.Env(), tscni::Flock(FdArg(info, 0, "funlock"), LOCK_UN));
    return info.Env().Undefined();
  }

  Napi::Value TunCreate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsString()) ThrowType(env, "tunCreate: name must be a string ('' lets the kernel pick)");
    std::string name = info[0].As<Napi::String>().Utf8Value();
    if (name.find('\0') != std::string::npos) ThrowType(env, "tunCreate: name must not contain NUL");
    if (!info[1].IsObject()) ThrowType(env, "tunCreate: opts must be an object");
    Napi::Object o = info[1].As<Napi::Object>();
    std::optional<bool> tap = OptionalBool(o, "tap", "tunCreate");
    if (!tap) ThrowType(env, "tunCreate: opts.tap must be a boolean");
    TunOptions opts;
    opts.tap = *tap;
    opts.multi_queue = OptionalBool(o, "multiQueue", "tunCreate").value_or(false);
    opts.vnet_hdr = OptionalBool(o, "vnetHdr", "tunCreate").value_or(false);
    opts.persist = OptionalBool(o, "persist", "tunCreate").value_or(true);
    opts.owner = OptionalId(o, "owner", "tunCreate");
    opts.group = OptionalId(o, "group", "tunCreate");
    std::string ifname;
    ThrowIf(env, tscni::TunCreate(name, opts, NetnsArg(info, 2, "tunCreate"), &ifname));
    return Napi::String::New(env, ifname);
  }

  napi_env env_;
  uv_loop_t* loop_ = nullptr;
  Napi::AsyncContext recv_context_;
  std::shared_ptr<PollShared> shared_;
  std::unordered_map<int, RecvPoll*> polls_;
};

}  // namespace
}  // namespace tscni

using TscniNative = tscni::Native;
NODE_API_ADDON(TscniNative)
