#include "run.hpp"

int main(int argc, char** argv) { return harmony::dispatcher::run(argc, argv); }
