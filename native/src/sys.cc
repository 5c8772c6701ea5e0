// Native layer, system side: implementations of sys.h. Anything that must happen inside another
// network namespace runs on a short-lived std::thread (never the libuv pool, never the JS thread),
// which enters the namespace, opens one descriptor and exits; the namespace dies with the thread.
#include "sys.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

namespace tscni {
namespace {

// Kernel-side buffer sizes for netlink sockets, as iproute2 uses for its rtnetlink socket. The
// receive side absorbs multicast bursts and large dump parts; the send side bounds one datagram
// (an nftables batch is a single datagram). SO_*BUFFORCE needs CAP_NET_ADMIN; without it the
// plain option applies, capped by net.core.[rw]mem_max.
constexpr int kNetlinkRcvBuf = 1 << 20;
constexpr int kNetlinkSndBuf = 1 << 20;

std::string FdDetail(int fd) { return "fd " + std::to_string(fd); }

SysError Fail(std::string syscall, std::string detail) {
  return SysError{errno, std::move(syscall), std::move(detail)};
}

// Runs `body` on a new thread and waits for it. The thread inherits the caller's namespaces, may
// change its own, and takes them with it when it exits.
template <typename Body>
SysError OnOwnThread(Body&& body) {
  SysError result;
  try {
    std::thread worker([&result, &body]() noexcept {
      try {
        result = body();
      } catch (const std::bad_alloc&) {
        result = SysError{ENOMEM, "thread", "namespace worker"};
      }
    });
    worker.join();
  } catch (const std::system_error& e) {
    return SysError{e.code().value() != 0 ? e.code().value() : EAGAIN, "pthread_create",
                    "namespace worker"};
  }
  return result;
}

// Moves the calling thread into the network namespace bound at `path`.
SysError EnterNetns(const std::string& path) {
  int nsfd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) return Fail("open", path);
  if (setns(nsfd, CLONE_NEWNET) != 0) {
    SysError e = Fail("setns", path);
    close(nsfd);
    return e;
  }
  close(nsfd);
  return {};
}

// Runs `body` in the namespace at `netns` (on a dedicated thread), or right here when none is given.
template <typename Body>
SysError InNetns(const std::optional<std::string>& netns, Body&& body) {
  if (!netns) return body();
  return OnOwnThread([&]() -> SysError {
    if (SysError e = EnterNetns(*netns)) return e;
    return body();
  });
}

SysError MakeDirs(const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return Fail("mkdir", prefix);
  }
  return {};
}

// As `ip netns add` does for its run directory: make it a shared mount point, bind-mounting it on
// itself first when it is not a mount point yet (that first attempt fails with EINVAL). Shared
// propagation lets an unmount in one mount namespace reach copies in the others, so a deleted
// namespace is not kept alive by a stale bind mount elsewhere.
SysError MakeSharedMountPoint(const std::string& dir) {
  bool bound = false;
  while (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
    if (errno != EINVAL || bound) return Fail("mount", dir + " MS_SHARED");
    if (mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
      return Fail("mount", dir + " MS_BIND");
    }
    bound = true;
  }
  return {};
}

std::string Dirname(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void SetIntOpt(int fd, int level, int name, int value) {
  // Best effort by design: older kernels lack some options and the socket works without them.
  (void)setsockopt(fd, level, name, &value, sizeof value);
}

SysError WaitFor(int fd, short events) {
  pollfd p{fd, events, 0};
  for (;;) {
    int n = poll(&p, 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail("poll", FdDetail(fd));
    if (p.revents & POLLNVAL) return SysError{EBADF, "poll", FdDetail(fd)};
    return {};
  }
}

}  // namespace

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? std::string(name) : "E" + std::to_string(err);
}

SysError NetnsCreate(const std::string& path) {
  // The parent directory becomes a mount point: never guess it from a relative path.
  if (path.front() != '/') return SysError{EINVAL, "netnsCreate", path + " is not absolute"};
  std::string dir = Dirname(path);
  if (SysError e = MakeDirs(dir)) return e;
  if (SysError e = MakeSharedMountPoint(dir)) return e;
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return Fail("open", path);
  close(fd);
  SysError e = OnOwnThread([&path]() -> SysError {
    if (unshare(CLONE_NEWNET) != 0) return Fail("unshare", "CLONE_NEWNET");
    // /proc/self names the thread-group leader; the new namespace belongs to this thread only.
    std::string own = "/proc/self/task/" + std::to_string(syscall(SYS_gettid)) + "/ns/net";
    if (mount(own.c_str(), path.c_str(), "none", MS_BIND, nullptr) != 0) return Fail("mount", path);
    return {};
  });
  if (e) unlink(path.c_str());
  return e;
}

SysError NetnsDelete(const std::string& path) {
  // EINVAL: not a mount point (a half-created entry); ENOENT: already gone.
  if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return Fail("umount2", path);
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return Fail("unlink", path);
  return {};
}

SysError StatInode(const std::string& path, uint64_t* ino) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return Fail("stat", path);
  *ino = st.st_ino;
  return {};
}

SysError NetlinkOpen(int protocol, const std::optional<std::string>& netns, int* fd) {
  return InNetns(netns, [&]() -> SysError {
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (s < 0) return Fail("socket", "AF_NETLINK protocol " + std::to_string(protocol));
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    if (bind(s, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      SysError e = Fail("bind", "AF_NETLINK protocol " + std::to_string(protocol));
      close(s);
      return e;
    }
    int rcv = kNetlinkRcvBuf;
    if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0) {
      SetIntOpt(s, SOL_SOCKET, SO_RCVBUF, kNetlinkRcvBuf);
    }
    int snd = kNetlinkSndBuf;
    if (setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) != 0) {
      SetIntOpt(s, SOL_SOCKET, SO_SNDBUF, kNetlinkSndBuf);
    }
    SetIntOpt(s, SOL_NETLINK, NETLINK_EXT_ACK, 1);
    SetIntOpt(s, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
    *fd = s;
    return {};
  });
}

SysError OpenInNetns(const std::optional<std::string>& netns, const std::string& file, int flags,
                     int* fd) {
  return InNetns(netns, [&]() -> SysError {
    int f = open(file.c_str(), flags | O_CLOEXEC, 0644);
    if (f < 0) return Fail("open", file);
    *fd = f;
    return {};
  });
}

SysError UdpOpen(const std::optional<std::string>& netns, const UdpOptions& opts, int* fd) {
  if (opts.bind_to_device && opts.bind_to_device->size() >= IFNAMSIZ) {
    return SysError{EINVAL, "setsockopt",
                    "SO_BINDTODEVICE " + *opts.bind_to_device + " (longer than 15 bytes)"};
  }
  std::string where = "udp 0.0.0.0:" + std::to_string(opts.port);
  return InNetns(netns, [&]() -> SysError {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP);
    if (s < 0) return Fail("socket", where);
    SysError e;
    int one = 1;
    if (opts.reuse_addr && setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
      e = Fail("setsockopt", "SO_REUSEADDR " + where);
    } else if (opts.broadcast && setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0) {
      e = Fail("setsockopt", "SO_BROADCAST " + where);
    } else if (opts.bind_to_device &&
               setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, opts.bind_to_device->c_str(),
                          static_cast<socklen_t>(opts.bind_to_device->size() + 1)) != 0) {
      // The device name is looked up in this (the socket's) namespace: ENODEV if it is not here.
      e = Fail("setsockopt", "SO_BINDTODEVICE " + *opts.bind_to_device);
    } else {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      local.sin_port = htons(opts.port);
      local.sin_addr.s_addr = htonl(INADDR_ANY);
      if (bind(s, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) e = Fail("bind", where);
    }
    if (e) {
      close(s);
      return e;
    }
    *fd = s;
    return {};
  });
}

SysError TunCreate(const std::string& name, const TunOptions& opts,
                   const std::optional<std::string>& netns, std::string* ifname) {
  if (name.size() >= IFNAMSIZ) {
    return SysError{EINVAL, "ioctl", "TUNSETIFF " + name + " (longer than 15 bytes)"};
  }
  return InNetns(netns, [&]() -> SysError {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return Fail("open", "/dev/net/tun");
    ifreq req{};
    std::memcpy(req.ifr_name, name.data(), name.size());
    req.ifr_flags = static_cast<short>((opts.tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI |
                                       (opts.multi_queue ? IFF_MULTI_QUEUE : 0) |
                                       (opts.vnet_hdr ? IFF_VNET_HDR : 0));
    SysError e;
    // Until TUNSETPERSIST the device lives only as long as this descriptor, so any failure below
    // removes it again when the descriptor is closed.
    if (ioctl(fd, TUNSETIFF, &req) != 0) {
      e = Fail("ioctl", "TUNSETIFF " + name);
    } else if (opts.owner && ioctl(fd, TUNSETOWNER, static_cast<unsigned long>(*opts.owner)) != 0) {
      e = Fail("ioctl", "TUNSETOWNER " + std::string(req.ifr_name));
    } else if (opts.group && ioctl(fd, TUNSETGROUP, static_cast<unsigned long>(*opts.group)) != 0) {
      e = Fail("ioctl", "TUNSETGROUP " + std::string(req.ifr_name));
    } else if (opts.persist && ioctl(fd, TUNSETPERSIST, 1UL) != 0) {
      e = Fail("ioctl", "TUNSETPERSIST " + std::string(req.ifr_name));
    } else {
      *ifname = std::string(req.ifr_name, strnlen(req.ifr_name, IFNAMSIZ));
    }
    close(fd);
    return e;
  });
}

SysError NetlinkSend(int fd, const uint8_t* data, size_t len, size_t* sent) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t n = sendto(fd, data, len, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&kernel),
                       sizeof kernel);
    if (n >= 0) {
      *sent = static_cast<size_t>(n);
      return {};
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (SysError e = WaitFor(fd, POLLOUT)) return e;
      continue;
    }
    return Fail("sendto", FdDetail(fd));
  }
}

// MSG_DONTWAIT on every call (and poll() to wait) makes the result independent of O_NONBLOCK on
// the descriptor, which libuv sets as soon as an asynchronous receive has watched it.
SysError DatagramSize(int fd, bool wait, size_t* size) {
  for (;;) {
    ssize_t n = recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    if (n >= 0) {
      *size = static_cast<size_t>(n);
      return {};
    }
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait) {
      if (SysError e = WaitFor(fd, POLLIN)) return e;
      continue;
    }
    return Fail("recv", FdDetail(fd));
  }
}

SysError RecvInto(int fd, uint8_t* buf, size_t len, size_t* got) {
  for (;;) {
    ssize_t n = recv(fd, buf, len, MSG_TRUNC | MSG_DONTWAIT);
    if (n >= 0) {
      // Only possible if another reader took the peeked datagram; never hand out a cut one.
      if (static_cast<size_t>(n) > len) return SysError{EMSGSIZE, "recv", FdDetail(fd)};
      *got = static_cast<size_t>(n);
      return {};
    }
    if (errno == EINTR) continue;
    return Fail("recv", FdDetail(fd));
  }
}

SysError Flock(int fd, int op) {
  while (flock(fd, op) != 0) {
    if (errno != EINTR) return Fail("flock", FdDetail(fd));
  }
  return {};
}

SysError CloseFd(int fd) {
  // Linux releases the descriptor even when close() reports EINTR, so it is never retried.
  if (close(fd) != 0 && errno != EINTR) return Fail("close", FdDetail(fd));
  return {};
}

}  // namespace tscni
