# Run by harmony_install_completions and harmony_install_gzipped (cmake -P):
#   -DPROGRAM=<program> -DOUT=<dir> [-DRUNNER=<emulator>]   completion scripts
#   -DGZIP=<file> -DOUT=<file.gz>                           a compressed copy
if(GZIP)
  get_filename_component(dir "${OUT}" DIRECTORY)
  file(MAKE_DIRECTORY "${dir}")
  execute_process(COMMAND gzip -9nc "${GZIP}" OUTPUT_FILE "${OUT}" RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "cannot compress ${GZIP}")
  endif()
  return()
endif()
file(MAKE_DIRECTORY "${OUT}")
foreach(shell bash zsh fish)
  execute_process(COMMAND ${RUNNER} "${PROGRAM}" completion ${shell} OUTPUT_FILE "${OUT}/${shell}" RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "'${PROGRAM} completion ${shell}' failed")
  endif()
endforeach()
