// AdminEndpoint: a local stream socket, owner-only, requests bounded in size and time.
#include "admin_endpoint.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace tern::net {
namespace {

using boost::asio::local::stream_protocol;
constexpr std::size_t kMaxRequest = 1 << 16;

class AdminExchange : public std::enable_shared_from_this<AdminExchange> {
 public:
  AdminExchange(stream_protocol::socket socket, const AdminHandler& handler)
      : socket_(std::move(socket)),
        handler_(handler),
        timer_(socket_.get_executor()),
        in_(kMaxRequest) {}

  void start() {
    timer_.expires_after(std::chrono::seconds(30));
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->socket_.close(ec);
    });
    boost::asio::async_read_until(
        socket_, in_, '\n',
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (ec) return self->finish();
          std::string line(
              boost::asio::buffers_begin(self->in_.data()),
              boost::asio::buffers_begin(self->in_.data()) + static_cast<std::ptrdiff_t>(n));
          self->out_ = self->handler_(line) + "\n";
          boost::asio::async_write(
              self->socket_, boost::asio::buffer(self->out_),
              [self](boost::system::error_code, std::size_t) { self->finish(); });
        });
  }

 private:
  void finish() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  stream_protocol::socket socket_;
  const AdminHandler& handler_;
  boost::asio::steady_timer timer_;
  boost::asio::streambuf in_;
  std::string out_;
};

}  // namespace

AdminEndpoint::AdminEndpoint(boost::asio::io_context& io, const std::string& path,
                             AdminHandler handler)
    : acceptor_(io), handler_(std::move(handler)), path_(path) {
  std::error_code fs_ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), fs_ec);
  ::unlink(path.c_str());  // a socket file left by an earlier run
  boost::system::error_code ec;
  const mode_t old_mask = ::umask(0077);  // the socket is created 0600
  acceptor_.open(stream_protocol(), ec);
  if (!ec) acceptor_.bind(stream_protocol::endpoint(path), ec);
  ::umask(old_mask);
  if (!ec) acceptor_.listen(16, ec);
  if (ec) throw std::runtime_error("admin.socket " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0600);
  accept();
}

AdminEndpoint::~AdminEndpoint() {
  ::unlink(path_.c_str());
}

void AdminEndpoint::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, stream_protocol::socket s) {
    if (ec == boost::asio::error::operation_aborted) return;
    if (!ec) std::make_shared<AdminExchange>(std::move(s), handler_)->start();
    accept();
  });
}

}  // namespace tern::net
