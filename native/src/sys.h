// Native layer, system side: the few Linux calls Node cannot make (setns/unshare, netlink and UDP
// sockets inside a namespace, flock, TUN ioctls), as plain C++ with errno results. No N-API here;
// addon.cc adapts these to JS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace tscni {

// A failed system call: errno, the call's name and what it was applied to (a path, "fd 7", ...).
// err == 0 means success.
struct SysError {
  int err = 0;
  std::string syscall;
  std::string detail;
  explicit operator bool() const { return err != 0; }
};

// Symbolic errno name ("ENOENT"); "E<number>" when the C library has no name for it.
std::string ErrnoName(int err);

// Network namespaces, with the file layout of `ip netns`: a bind mount of a namespace file at `path`,
// whose directory is made a shared mount point so that unmounts propagate to other mount namespaces.
SysError NetnsCreate(const std::string& path);
SysError NetnsDelete(const std::string& path);  // a missing path is success
SysError StatInode(const std::string& path, uint64_t* ino);

// Opening things inside a namespace. `netns` empty means the caller's own namespace; otherwise the
// work runs on a short-lived dedicated thread that enters the namespace, so the calling (JS) thread
// never changes namespace. The returned descriptors keep the namespace they were opened in.
SysError NetlinkOpen(int protocol, const std::optional<std::string>& netns, int* fd);
SysError OpenInNetns(const std::optional<std::string>& netns, const std::string& file, int flags,
                     int* fd);

// An AF_INET datagram socket (SOCK_CLOEXEC | SOCK_NONBLOCK) bound to 0.0.0.0:port inside the
// namespace, optionally tied to one device there (SO_BINDTODEVICE) and allowed to send to
// broadcast addresses. Sending and receiving are left to the caller (Node's dgram adopts the fd).
struct UdpOptions {
  uint16_t port = 0;
  std::optional<std::string> bind_to_device;
  bool broadcast = false;
  bool reuse_addr = false;
};
SysError UdpOpen(const std::optional<std::string>& netns, const UdpOptions& opts, int* fd);

struct TunOptions {
  bool tap = false;
  bool multi_queue = false;
  bool vnet_hdr = false;
  std::optional<uint32_t> owner;
  std::optional<uint32_t> group;
  bool persist = true;
};
SysError TunCreate(const std::string& name, const TunOptions& opts,
                   const std::optional<std::string>& netns, std::string* ifname);

// Netlink datagrams. Sends go to the kernel (nl_pid 0). Receiving is split in two so that the
// caller can size its buffer exactly: DatagramSize peeks with MSG_TRUNC (never truncates), then
// RecvInto takes the datagram. With wait == false both return EAGAIN when nothing is queued.
SysError NetlinkSend(int fd, const uint8_t* data, size_t len, size_t* sent);
SysError DatagramSize(int fd, bool wait, size_t* size);
SysError RecvInto(int fd, uint8_t* buf, size_t len, size_t* got);

// flock(2) with EINTR retried; blocks when op lacks LOCK_NB.
SysError Flock(int fd, int op);
SysError CloseFd(int fd);

}  // namespace tscni
