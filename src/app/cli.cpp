// Command line parsing and the small commands; `serve` lives in serve.cpp.
#include <dlrd/app/app.hpp>

#include "allocator.hpp"
#include "endpoints_cmd.hpp"
#include "logging.hpp"
#include "quarantine_cmd.hpp"
#include <dlrd/app/config.hpp>
#include <dlrd/app/serve.hpp>

#include <dlrd/config/yaml.hpp>
#include <dlrd/decode/profile.hpp>
#include <dlrd/insights/report.hpp>
#include <dlrd/spool/inspect.hpp>
#include <dlrd/store/migrations.hpp>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dlrd::app {

namespace {

constexpr const char* default_config = "/etc/dlrd/dlrd.yaml";

struct command {
  const char* usage;
  const char* summary;  ///< one line, for `dlrd --help` and the man page's synopsis
  const char* help;
};

const std::map<std::string, command>& commands() {
  static const std::map<std::string, command> all = {
      {"serve", {"dlrd serve [--config FILE]",
                 "Run the daemon: receive reports, spool them, write them to PostgreSQL.",
                 "Receive delivery reports over HTTP, spool them durably and write them to PostgreSQL.\n"
                 "Runs in the foreground until SIGTERM or SIGINT; notifies systemd when ready.\n"
                 "SIGHUP re-reads the file: webhooks and their auth, profiles, api.auth, alert sinks and\n"
                 "rules, expiry, retention, log.*, shutdown.* and the TLS certificate change live; keys\n"
                 "that need a restart are named in the log; an invalid file is refused and the running\n"
                 "configuration kept.\n"
                 "Prometheus metrics: GET /metrics."}},
      {"migrate", {"dlrd migrate [--config FILE]",
                 "Apply the missing schema migrations.",
                   "Apply the missing schema migrations to the configured database, in order."}},
      {"report", {"dlrd report [--config FILE] [--days N] [--format table|csv|json]",
                 "Print deliverability figures for the last N days.",
                  "Print deliverability figures for the messages sent in the last N days (default 7,\n"
                  "at most 366), the same as the stats API's: delivery by day, countries, providers and\n"
                  "senders (worst failure rate first, 95%/85% bands), DLR coverage after 24 h, send to\n"
                  "delivered latency, top error codes and the rate rules firing now. Rates are shares of\n"
                  "messages with a final status. csv: one block per section; json: the API's bodies."}},
      {"check-config", {"dlrd check-config [--config FILE]",
                 "Validate the configuration file without starting.",
                        "Validate the configuration file without starting; exit 0 when it is valid."}},
      {"spool", {"dlrd spool inspect [--config FILE | --dir DIR]",
                 "Show the spool's segments, backlog and any corruption.",
                 "Show the spool's segments, record counts, checkpoint, oldest unsent record and any\n"
                 "corruption. Reads only; run it while the daemon is stopped or running."}},
      {"quarantine", {"dlrd quarantine list|replay [--config FILE] [--provider NAME] [--id N]... [--all] "
                      "[--limit N] [--dry-run]",
                      "List or replay the callbacks kept in quarantine.",
                      "Callbacks that were acked but could not be decoded are kept in dlr_quarantine.\n"
                      "list: show them (id, arrival, profile, reason, size, the start of the body); --all\n"
                      "  includes those already replayed, --limit caps the rows (default 100).\n"
                      "replay: decode every pending one again with the profile it arrived for, as the file\n"
                      "  configures it now (after a fix), write the reports like the daemon does (history,\n"
                      "  convergence, failure notices) and mark them replayed. Those that still do not decode\n"
                      "  stay pending, with the reason. --dry-run writes nothing. Safe while dlrd runs; run it\n"
                      "  again after an interruption. Exit 0: all replayed; 3: some still undecodable."}},
      {"endpoints", {"dlrd endpoints [--config FILE] [--base-url URL] [--reveal]",
                     "Print the webhook URLs to give each gateway, and what each one checks.",
                     "Print one line per configured webhook: its profile, the URL to paste into the gateway's\n"
                     "delivery report (callback) field, and the checks it makes (token, signature, allowlist...);\n"
                     "and the API routes with api.auth. --base-url is the scheme and host the gateways reach\n"
                     "(default: the listen address, which a reverse proxy usually hides). A token in the path or\n"
                     "query prints as {token} unless --reveal, which prints the first configured secret\n"
                     "URL-encoded (mind the terminal's scrollback)."}},
      {"profiles", {"dlrd profiles [NAME]",
                 "Print the built-in provider profiles (or one) as YAML.",
                    "Print the built-in provider profiles (smspm, twilio, vonage, sinch, infobip, kannel,\n"
                    "jasmin, smpp, telnyx, bandwidth, plivo, messagebird, routee, clickatell) as the YAML\n"
                    "they are read from: a starting point for your own profile under `profiles:` (or\n"
                    "`extends: <name>`). With NAME, only that profile."}},
      {"help", {"dlrd help [COMMAND]",
                 "Print this overview, or one command's help (the same as `dlrd COMMAND --help`).",
                 "Without COMMAND: every command with a one-line description. With COMMAND: its usage\n"
                 "and what it does. `dlrd help --man` prints the manual page (roff) built from these texts."}},
      {"version", {"dlrd version",
                 "Print the version.", "Print the version, and the malloc dlrd runs on (jemalloc in packaged builds)."}},
  };
  return all;
}

void print_usage(FILE* out) {
  std::fprintf(out, "usage: dlrd <command> [options]\n\ncommands:\n");
  for (const auto& [name, c] : commands()) std::fprintf(out, "  %s\n      %s\n", c.usage, c.summary);
  std::fprintf(out,
               "\nThe default config file is %s. Options take their value as --flag VALUE or --flag=VALUE.\n"
               "`dlrd help <command>` (or `dlrd <command> --help`) explains a command.\n",
               default_config);
}

void print_help(const command& c) { std::printf("usage: %s\n\n%s\n", c.usage, c.help); }

/// roff-escaped: backslashes doubled, a leading '.' or '\'' guarded, hyphens in options kept literal.
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char ch : text) {
    if (line_start && (ch == '.' || ch == '\'')) out += "\\&";
    if (ch == '\\') out += "\\e";
    else if (ch == '-') out += "\\-";
    else out += ch;
    line_start = ch == '\n';
  }
  return out;
}

/// dlrd.8, from the same texts as --help: one source of truth for both.
void print_man_page() {
  std::printf(".TH DLRD 8 \"\" \"dlrd %s\" \"System Administration\"\n", DLRD_VERSION);
  std::printf(".SH NAME\ndlrd \\- SMS delivery report daemon: durable HTTP intake, PostgreSQL state\n");
  std::printf(".SH SYNOPSIS\n");
  for (const auto& [name, c] : commands()) std::printf(".B %s\n.br\n", roff(c.usage).c_str());
  std::printf(".SH DESCRIPTION\n%s\n",
              roff("dlrd receives SMS delivery reports from SMS gateways over HTTP(S), acknowledges each "
                   "callback once it is durable in a local spool, and keeps every message's delivery state "
                   "in PostgreSQL. It alerts on failures and failure rates, serves a status API, "
                   "deliverability statistics, a dashboard and Prometheus metrics.")
                  .c_str());
  std::printf(".PP\nOptions take their value as \\fB\\-\\-flag VALUE\\fR or \\fB\\-\\-flag=VALUE\\fR. "
              "The default configuration file is \\fI%s\\fR.\n", default_config);
  std::printf(".SH COMMANDS\n");
  for (const auto& [name, c] : commands()) {
    std::printf(".TP\n.B %s\n%s\n.PP\n.RS\n.nf\n%s\n.fi\n.RE\n", roff(c.usage).c_str(), roff(c.summary).c_str(),
                roff(c.help).c_str());
  }
  std::printf(".SH FILES\n.TP\n.I /etc/dlrd/dlrd.yaml\nThe configuration (a conffile). It listens on 127.0.0.1 by "
              "default; see allow_unauthenticated in the reference configuration before opening it.\n"
              ".TP\n.I /etc/default/dlrd\nEnvironment for the unit, e.g. DLRD_DATABASE_URL.\n"
              ".TP\n.I /usr/share/doc/dlrd/dlrd.reference.yaml\nEvery key, commented, at its default.\n"
              ".TP\n.I /usr/share/dlrd/sql/\nThe schema migrations \\fBdlrd migrate\\fR applies.\n"
              ".TP\n.I /var/lib/dlrd/spool\nThe spool: acknowledged reports not yet in PostgreSQL.\n");
  std::printf(".SH EXIT STATUS\n0 on success, 1 on an error, 2 on a usage error; \\fBspool inspect\\fR and "
              "\\fBquarantine replay\\fR use 3 as described above.\n");
  std::printf(".SH SEE ALSO\n.BR systemctl (1),\n.BR journalctl (1),\n.I /usr/share/doc/dlrd/README.md\n");
}

/// `dlrd profiles NAME`: the one profile's block of the built-in YAML, with the comment above it.
std::optional<std::string> builtin_profile_text(std::string_view name) {
  std::vector<std::string_view> lines;
  std::string_view all = decode::builtin_profiles_text();
  while (!all.empty()) {
    auto nl = all.find('\n');
    lines.push_back(all.substr(0, nl == std::string_view::npos ? all.size() : nl + 1));
    all.remove_prefix(lines.back().size());
  }
  auto is_key = [](std::string_view l) {
    return !l.empty() && l[0] != '#' && l[0] != ' ' && l[0] != '\n' && l.find(':') != std::string_view::npos;
  };
  auto is_comment_or_blank = [](std::string_view l) { return l.empty() || l[0] == '#' || l[0] == '\n'; };
  for (std::size_t k = 0; k < lines.size(); ++k) {
    if (!is_key(lines[k]) || lines[k].substr(0, lines[k].find(':')) != name) continue;
    std::size_t begin = k, end = k + 1;
    while (begin > 0 && !lines[begin - 1].empty() && lines[begin - 1][0] == '#') --begin;
    while (end < lines.size() && !is_key(lines[end])) ++end;
    while (end > k + 1 && is_comment_or_blank(lines[end - 1])) --end;
    std::string out;
    for (std::size_t i = begin; i < end; ++i) out += lines[i];
    return out;
  }
  return std::nullopt;
}

struct options {
  std::string config = default_config;
  std::optional<std::string> dir;
  std::optional<std::string> days;    // report
  std::optional<std::string> format;  // report
  quarantine_options quarantine;
  endpoints_options endpoints;
  std::vector<std::string> positional;
  bool help = false;
  bool man = false;  // help --man
};

std::optional<options> parse_options(const std::string& name, int argc, char** argv, int first) {
  options o;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    // --flag=value is --flag value, for every flag.
    std::optional<std::string> inline_value;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = a.substr(eq + 1);
      a.resize(eq);
    }
    auto value = [&](const char* flag) -> std::optional<std::string> {
      if (inline_value) return inline_value;
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dlrd %s: %s needs a value\n", name.c_str(), flag);
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    const bool is_switch = a == "--help" || a == "-h" || a == "--man" ||
                           (name == "quarantine" && (a == "--all" || a == "--dry-run")) ||
                           (name == "endpoints" && a == "--reveal");
    if (is_switch && inline_value) {
      std::fprintf(stderr, "dlrd %s: %s takes no value\n", name.c_str(), a.c_str());
      return std::nullopt;
    }
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (name == "help" && a == "--man") {
      o.man = true;
    } else if (a == "--config" || a == "-c") {
      auto v = value("--config");
      if (!v) return std::nullopt;
      o.config = *v;
    } else if (a == "--dir") {
      auto v = value("--dir");
      if (!v) return std::nullopt;
      o.dir = *v;
    } else if (name == "report" && (a == "--days" || a == "--format")) {
      auto v = value(a.c_str());
      if (!v) return std::nullopt;
      (a == "--days" ? o.days : o.format) = *v;
    } else if (name == "endpoints" && a == "--reveal") {
      o.endpoints.reveal = true;
    } else if (name == "endpoints" && a == "--base-url") {
      auto v = value("--base-url");
      if (!v) return std::nullopt;
      o.endpoints.base_url = *v;
    } else if (name == "quarantine" && (a == "--all" || a == "--dry-run")) {
      (a == "--all" ? o.quarantine.all : o.quarantine.dry_run) = true;
    } else if (name == "quarantine" && (a == "--provider" || a == "--id" || a == "--limit")) {
      auto v = value(a.c_str());
      if (!v) return std::nullopt;
      if (a == "--provider") {
        o.quarantine.provider = *v;
        continue;
      }
      char* end = nullptr;
      long long n = std::strtoll(v->c_str(), &end, 10);
      if (v->empty() || *end != '\0' || n < 1) {
        std::fprintf(stderr, "dlrd quarantine: %s takes a positive integer, not '%s'\n", a.c_str(), v->c_str());
        return std::nullopt;
      }
      if (a == "--id") o.quarantine.ids.push_back(n);
      else o.quarantine.limit = static_cast<std::size_t>(n);
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "dlrd %s: unknown option %s\n", name.c_str(), a.c_str());
      return std::nullopt;
    } else {
      o.positional.push_back(a);
    }
  }
  return o;
}

void setup_logging(const daemon_config& c) { setup_logging(c.log); }

std::optional<daemon_config> load(const std::string& file) {
  try {
    return load_config(file);
  } catch (const config::config_error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return std::nullopt;
  }
}

/// `dlrd help [COMMAND]` and `dlrd help --man`.
int help_command(const options& o) {
  if (o.man) {
    print_man_page();
    return 0;
  }
  if (o.positional.empty()) {
    print_usage(stdout);
    return 0;
  }
  auto topic = commands().find(o.positional[0]);
  if (o.positional.size() > 1 || topic == commands().end()) {
    std::fprintf(stderr, "dlrd help: unknown command '%s'\n", o.positional[0].c_str());
    print_usage(stderr);
    return 2;
  }
  print_help(topic->second);
  return 0;
}

/// `dlrd profiles [NAME]`.
int profiles_command(const options& o) {
  if (o.positional.empty()) {
    std::fwrite(decode::builtin_profiles_text().data(), 1, decode::builtin_profiles_text().size(), stdout);
    return 0;
  }
  auto text = o.positional.size() == 1 ? builtin_profile_text(o.positional[0]) : std::nullopt;
  if (!text) {
    std::string known;
    for (const auto& p : decode::builtin_profiles()) known += (known.empty() ? "" : ", ") + p.name;
    std::fprintf(stderr, "dlrd profiles: no built-in profile '%s'; the built-in ones are: %s\n",
                 o.positional.size() == 1 ? o.positional[0].c_str() : "", known.c_str());
    return 2;
  }
  std::fputs(text->c_str(), stdout);
  return 0;
}

/// `dlrd spool inspect`.
int spool_command(const options& o, const command& cmd) {
  if (o.positional.size() != 1 || o.positional[0] != "inspect") {
    std::fprintf(stderr, "usage: %s\n", cmd.usage);
    return 2;
  }
  std::string dir;
  if (o.dir) {
    dir = *o.dir;
  } else {
    auto c = load(o.config);
    if (!c) return 1;
    dir = c->spool.dir;
  }
  try {
    auto report = spool::inspect_spool(dir);
    std::fputs(spool::format_inspect(report).c_str(), stdout);
    return report.corrupt_segments > 0 ? 3 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dlrd spool inspect: %s\n", e.what());
    return 1;
  }
}

/// `dlrd quarantine list|replay`.
int quarantine_command(const options& o, const command& cmd) {
  if (o.positional.size() != 1 || (o.positional[0] != "list" && o.positional[0] != "replay")) {
    std::fprintf(stderr, "usage: %s\n", cmd.usage);
    return 2;
  }
  auto c = load(o.config);
  if (!c) return 1;
  setup_logging(*c);
  return o.positional[0] == "list" ? quarantine_list(*c, o.quarantine) : quarantine_replay(*c, o.quarantine);
}

/// `dlrd report`.
int report_command(const options& o, const daemon_config& config) {
  int days = 7;
  if (o.days) {
    char* end = nullptr;
    long n = std::strtol(o.days->c_str(), &end, 10);
    if (o.days->empty() || *end != '\0' || n < 1 || n > 366) {
      std::fprintf(stderr, "dlrd report: --days must be an integer from 1 to 366\n");
      return 2;
    }
    days = static_cast<int>(n);
  }
  auto format = insights::parse_report_format(o.format.value_or("table"));
  if (!format) {
    std::fprintf(stderr, "dlrd report: --format must be table, csv or json\n");
    return 2;
  }
  try {
    std::fputs(insights::render_report(store::connection_string(config.database), days, *format).c_str(), stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dlrd report: %s\n", e.what());
    return 1;
  }
}

/// `dlrd migrate`.
int migrate_command(const daemon_config& config) {
  try {
    auto result = store::migrate(store::connection_string(config.database));
    for (const auto& note : result.notes) std::printf("%s\n", note.c_str());
    if (result.applied.empty() && result.functions.empty()) std::printf("schema is up to date\n");
    for (const auto& m : result.applied) std::printf("applied %s\n", m.c_str());
    for (const auto& f : result.functions) std::printf("applied function file %s\n", f.c_str());
    for (const auto& i : result.reindexed) std::printf("rebuilt index %s (a function it calls changed)\n", i.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dlrd migrate: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int run_cli(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string name = argv[1];
  if (name == "--version") name = "version";
  auto it = commands().find(name);
  if (it == commands().end()) {
    std::fprintf(stderr, "dlrd: unknown command '%s'\n", name.c_str());
    print_usage(stderr);
    return 2;
  }
  auto opts = parse_options(name, argc, argv, 2);
  if (!opts) {
    std::fprintf(stderr, "usage: %s\n", it->second.usage);
    return 2;
  }
  if (opts->help) {
    print_help(it->second);
    return 0;
  }

  if (name == "help") return help_command(*opts);
  if (name == "version") {
    std::printf("dlrd %s\nallocator: %s\n", DLRD_VERSION, allocator_name().c_str());
    return 0;
  }
  if (name == "profiles") return profiles_command(*opts);
  if (name == "spool") return spool_command(*opts, it->second);
  if (name == "quarantine") return quarantine_command(*opts, it->second);

  if (!opts->positional.empty()) {
    std::fprintf(stderr, "dlrd %s: unexpected argument '%s'\nusage: %s\n", name.c_str(),
                 opts->positional[0].c_str(), it->second.usage);
    return 2;
  }
  auto config = load(opts->config);
  if (!config) return 1;

  if (name == "endpoints") {
    std::fputs(describe_endpoints(*config, opts->endpoints).c_str(), stdout);
    return 0;
  }
  if (name == "check-config") {
    for (const auto& w : exposure_warnings(*config)) std::fprintf(stderr, "warning: %s\n", w.c_str());
    std::printf("%s: configuration is valid\n", opts->config.c_str());
    return 0;
  }
  if (name == "report") return report_command(*opts, *config);
  setup_logging(*config);
  if (name == "migrate") return migrate_command(*config);
  for (const auto& w : exposure_warnings(*config)) spdlog::warn("{}", w);
  try {
    return serve(*config, opts->config);
  } catch (const std::exception& e) {
    spdlog::critical("dlrd serve: {}", e.what());
    return 1;
  }
}

}  // namespace dlrd::app
