// DATA/server.toml: every run flag by name, the command line over the file, and an
// unknown key or a bad value named in the error.

#include "server/app/config_file.h"

#include <unistd.h>

#include <fstream>

#include "gtest/gtest.h"

namespace temoin::server {
namespace {

std::string WriteToml(const std::string& text) {
  static int n = 0;
  std::string path = ::testing::TempDir() + "/server-" + std::to_string(getpid()) + "-" +
                     std::to_string(n++) + ".toml";
  std::ofstream(path) << text;
  return path;
}

// A `run` with a few options of each kind, as server_main.cc declares them.
struct RunCommandLine {
  RunCommandLine() {
    app.add_option("--data", data)->required();
    app.add_option("--listen", listen);
    app.add_option("--max-streams", streams)->check(CLI::Range(1, 100));
    app.add_flag("--log-peer-addresses", peers);
    app.add_option("--log-format", format)->check(CLI::IsMember({"text", "json"}));
    app.add_option("--witness", witnesses)->allow_extra_args(false);
  }
  absl::Status Parse(std::vector<std::string> args, const std::string& toml) {
    std::vector<const char*> argv{"run"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
    absl::StatusOr<std::vector<ConfigSetting>> settings = ReadConfigFile(WriteToml(toml));
    if (!settings.ok()) return settings.status();
    return ApplyConfig(*settings, app, "DATA/server.toml");
  }
  CLI::App app;
  std::string data, listen, format = "text";
  int streams = 8;
  bool peers = false;
  std::vector<std::string> witnesses;
};

// A repeatable flag takes a TOML array, one value each; the command line replaces it.
TEST(ConfigFileTest, AnArrayGivesARepeatableFlagEachValue) {
  RunCommandLine run;
  ASSERT_TRUE(run.Parse({"--data", "/d"}, "witness = [\"a=1\", \"b=2\"]\n").ok());
  EXPECT_EQ(run.witnesses, (std::vector<std::string>{"a=1", "b=2"}));
  RunCommandLine over;
  ASSERT_TRUE(
      over.Parse({"--data", "/d", "--witness", "c=3"}, "witness = [\"a=1\", \"b=2\"]\n").ok());
  EXPECT_EQ(over.witnesses, (std::vector<std::string>{"c=3"}));
  RunCommandLine bad;
  EXPECT_FALSE(bad.Parse({"--data", "/d"}, "witness = [[\"a\"]]\n").ok());
}

TEST(ConfigFileTest, EveryKindOfFlagCanBeSet) {
  RunCommandLine run;
  ASSERT_TRUE(run.Parse({"--data", "/d"},
                        "listen = \"127.0.0.1:7443\"\nmax-streams = 4\n"
                        "log-peer-addresses = true\nlog-format = \"json\"\n")
                  .ok());
  EXPECT_EQ(run.listen, "127.0.0.1:7443");
  EXPECT_EQ(run.streams, 4);
  EXPECT_TRUE(run.peers);
  EXPECT_EQ(run.format, "json");
}

TEST(ConfigFileTest, TheCommandLineOverridesTheFile) {
  RunCommandLine run;
  ASSERT_TRUE(run.Parse({"--data", "/d", "--max-streams", "2", "--log-format", "text"},
                        "max-streams = 4\nlog-format = \"json\"\nlisten = \"127.0.0.1:1\"\n")
                  .ok());
  EXPECT_EQ(run.streams, 2);
  EXPECT_EQ(run.format, "text");
  EXPECT_EQ(run.listen, "127.0.0.1:1");
}

TEST(ConfigFileTest, AnUnknownKeyIsAnErrorThatNamesIt) {
  for (const char* key : {"max-stream", "data", "help", "--listen"}) {
    RunCommandLine run;
    absl::Status s = run.Parse({"--data", "/d"}, std::string("\"") + key + "\" = \"1\"\n");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_NE(s.message().find(std::string("unknown key '") + key + "'"), std::string::npos)
        << s.message();
  }
}

TEST(ConfigFileTest, ABadValueIsRefusedByTheFlagsOwnCheck) {
  RunCommandLine run;
  absl::Status s = run.Parse({"--data", "/d"}, "max-streams = 1000\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("max-streams"), std::string::npos) << s.message();
  RunCommandLine json;
  EXPECT_FALSE(json.Parse({"--data", "/d"}, "log-format = \"xml\"\n").ok());
}

TEST(ConfigFileTest, SyntaxErrorsAndTablesNameTheLine) {
  absl::StatusOr<std::vector<ConfigSetting>> bad = ReadConfigFile(WriteToml("a = 1\nb = \n"));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find(":2:"), std::string::npos) << bad.status().message();
  absl::StatusOr<std::vector<ConfigSetting>> table =
      ReadConfigFile(WriteToml("a = 1\n[limits]\nb = 2\n"));
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(table.status().message().find("limits"), std::string::npos);
}

TEST(ConfigFileTest, NoFileIsNoSettings) {
  absl::StatusOr<std::vector<ConfigSetting>> none =
      ReadConfigFile(::testing::TempDir() + "/no-such-server.toml");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace temoin::server
