#include "run.hpp"

int main(int argc, char** argv) { return harmony::callout::run(argc, argv); }
