#include <catch2/catch.hpp>

#include <harmony/base/names.hpp>
#include <harmony/plugin/naming.hpp>

using namespace harmony;

TEST_CASE("command words keep paths, dots and control characters out of file names") {
  for (const char* ok : {"fleet", "my-app", "my_app", "a", "0day", "x-1_2"}) CHECK(base::is_command_word(ok));
  for (const char* bad : {"", "../x", "a/b", "..", ".", "Fleet", "-x", "_x", "a b", "a\nb", "é"})
    CHECK_FALSE(base::is_command_word(bad));
  CHECK_FALSE(base::is_command_word(std::string(65, 'a')));
  auto e = base::validate_command_word("a/b");
  REQUIRE_FALSE(e);
  CHECK(e.error().status == base::exit_status::usage);
  CHECK(e.error().message == "'a/b' is not a valid command name");
  auto huge = base::validate_command_word(std::string(100000, 'x'));
  REQUIRE_FALSE(huge);
  CHECK(huge.error().message.size() < 100);
}

TEST_CASE("DNS labels follow RFC 1123") {
  CHECK(base::is_dns_label("device-1"));
  CHECK_FALSE(base::is_dns_label("Device"));
  CHECK_FALSE(base::is_dns_label("-x"));
  CHECK_FALSE(base::is_dns_label("x-"));
  CHECK_FALSE(base::is_dns_label(std::string(64, 'a')));
  CHECK_FALSE(base::validate_dns_label("a.b", "device id"));
}

TEST_CASE("words map to plugin file names the kubectl way, and back") {
  std::vector<std::string> words{"my-app", "deploy"};
  CHECK(plugin::name_for_words(words) == "my_app-deploy");
  CHECK(plugin::words_for_file_name("harmony-my_app-deploy") == words);
  CHECK(plugin::command_for_words(words) == "my-app deploy");
  CHECK_FALSE(plugin::words_for_file_name("harmony-"));
  CHECK_FALSE(plugin::words_for_file_name("harmony-a--b"));
  CHECK_FALSE(plugin::words_for_file_name("harmony-Foo"));
  CHECK_FALSE(plugin::words_for_file_name("harmony-foo.sh"));
  CHECK_FALSE(plugin::words_for_file_name("kubectl-foo"));
}
