#include "run.hpp"

int main(int argc, char** argv) { return harmony::fleet::op::run(argc, argv); }
