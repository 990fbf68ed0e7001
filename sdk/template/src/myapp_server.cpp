// myapp-server: the application harmony-myapp deploys. A small HTTP server:
//   GET /        the greeting, from the file given with --greeting-file
//   GET /health  "ok"
// Replace it with your own program; the plugin only needs its command line
// and a way to tell it is ready.

#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace {

volatile std::sig_atomic_t stopping = 0;

std::string read_greeting(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void answer(int client, const std::string& greeting_file) {
  char request[2048] = {};
  const ssize_t n = ::read(client, request, sizeof request - 1);
  if (n <= 0) return;
  const std::string line(request, std::strcspn(request, "\r\n"));
  std::string status = "200 OK", body;
  if (line.rfind("GET /health ", 0) == 0) {
    body = "ok\n";
  } else if (line.rfind("GET / ", 0) == 0) {
    body = read_greeting(greeting_file);
  } else {
    status = "404 Not Found";
    body = "not found\n";
  }
  const std::string response = "HTTP/1.0 " + status + "\r\nContent-Type: text/plain\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)::write(client, response.data(), response.size());
}

}  // namespace

int main(int argc, char** argv) {
  int port = 8080;
  std::string greeting_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--port") port = std::atoi(argv[i + 1]);
    if (flag == "--greeting-file") greeting_file = argv[i + 1];
  }
  if (port <= 0 || port > 65535 || greeting_file.empty()) {
    std::fprintf(stderr, "usage: myapp-server --port PORT --greeting-file FILE\n");
    return 2;
  }
  struct sigaction on_term {};
  on_term.sa_handler = [](int) { stopping = 1; };
  sigaction(SIGTERM, &on_term, nullptr);
  sigaction(SIGINT, &on_term, nullptr);

  const int server = ::socket(AF_INET, SOCK_STREAM, 0);
  const int yes = 1;
  ::setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(server, 16) != 0) {
    std::perror("myapp-server: cannot listen");
    return 1;
  }
  std::printf("myapp-server: listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  while (!stopping) {
    const int client = ::accept(server, nullptr, nullptr);
    if (client < 0) continue;  // interrupted by a signal: check `stopping`
    answer(client, greeting_file);
    ::close(client);
  }
  std::printf("myapp-server: stopped\n");
  return 0;
}
