#include "run.hpp"

int main(int argc, char** argv) { return harmony::agent::daemon::run(argc, argv); }
