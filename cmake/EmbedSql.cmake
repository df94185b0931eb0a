# Writes the numbered migrations in sql/ into a C++ source as (name, text) pairs.
set(body "// Generated from sql/*.sql by cmake/EmbedSql.cmake; do not edit.\n#include <dlrd/store/migrations.hpp>\nnamespace dlrd::store {\nconst std::vector<migration>& embedded_migrations() {\n  static const std::vector<migration> all = {\n")
foreach(f IN LISTS FILES)
  get_filename_component(name ${f} NAME_WE)
  file(READ ${f} text)
  string(APPEND body "    {\"${name}\", R\"dlrdsql(${text})dlrdsql\"},\n")
endforeach()
string(APPEND body "  };\n  return all;\n}\n}  // namespace dlrd::store\n")
file(WRITE ${OUT} "${body}")
