// berth password rotate NAME [--password-file F]: a new password, live on every instance.
#include "cli/cli.hpp"
#include "cli/commands.hpp"

namespace berth::cli {

int rotate_password(client::Client& c, const std::string& ref, const std::string& password_file,
                    const Output& o) {
  std::optional<std::string> given;
  if (!password_file.empty()) given = read_secret_line(password_file);
  auto rotated = c.databases().rotate_password(ref, given);
  auto& db = rotated.database;
  print_one(o, db, [&](std::ostream& out) {
    out << db.name << ": "
        << (rotated.taken ? "every instance takes the new password now (the old one no more)"
                          : "the new password is set; an instance has not taken it yet (its "
                            "agent goes on; see `berth inspect " +
                                db.name + "`)")
        << "\n  password: " << db.password << "\n";
  });
  return 0;
}

void add_password_commands(CLI::App& app, const Context& ctx) {
  auto& flags = *ctx.flags;
  auto* password = app.add_subcommand("password", "Database passwords");
  password->require_subcommand(1);
  // berth password rotate NAME [--password-file F] [--json]
  auto* rotate = password->add_subcommand(
      "rotate", "Set a new password on every instance, live, and print it once");
  auto args = std::make_shared<std::pair<std::string, std::string>>();
  rotate->add_option("name", args->first, "database name or id")->required();
  rotate->add_option("--password-file", args->second,
                     "the new password, from this file's first line ('-': stdin); made up "
                     "when omitted");
  rotate->add_flag("--json", flags.json, "print the database as JSON, the new password in it");
  add_connection(rotate, flags);
  on_run(rotate, ctx,
         [=](auto& c, auto& o) { return rotate_password(c, args->first, args->second, o); });
}

}  // namespace berth::cli
