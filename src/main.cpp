// dlrd's entry point: everything happens in the command line handler.
#include <dlrd/app/app.hpp>

int main(int argc, char** argv) { return dlrd::app::run_cli(argc, argv); }
