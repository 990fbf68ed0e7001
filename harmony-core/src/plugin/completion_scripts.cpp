#include <harmony/plugin/completion_scripts.hpp>

namespace harmony::plugin {
namespace {

constexpr std::string_view bash_script = R"(# bash completion for @COMMAND@                          -*- shell-script -*-
# Load with: source <(@COMMAND@ completion bash)
@FUNCTION@() {
    local cur=${COMP_WORDS[COMP_CWORD]} line files=0 nospace=0
    local -a candidates=()
    while IFS= read -r line; do
        case $line in
            :files) files=1 ;;
            :nospace) nospace=1 ;;
            :*) ;;
            *) candidates+=("${line%%$'\t'*}") ;;
        esac
    done < <("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    COMPREPLY=("${candidates[@]}")
    if (( files )); then
        local IFS=$'\n'
        COMPREPLY+=($(compgen -f -- "$cur"))
    fi
    if (( nospace )); then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}
complete -F @FUNCTION@ @COMMAND@
)";

constexpr std::string_view zsh_script = R"(#compdef @COMMAND@
# zsh completion for @COMMAND@
# Load with: source <(@COMMAND@ completion zsh), or save as _@COMMAND@ in $fpath.
@FUNCTION@() {
    local line files=0 nospace=0
    local -a candidates
    for line in "${(@f)$("${words[1]}" __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}"; do
        case $line in
            :files) files=1 ;;
            :nospace) nospace=1 ;;
            :*) ;;
            '') ;;
            *$'\t'*) candidates+=("${${line%%$'\t'*}//:/\\:}:${line#*$'\t'}") ;;
            *) candidates+=("${line//:/\\:}") ;;
        esac
    done
    local -a opts
    (( nospace )) && opts=(-S '')
    (( ${#candidates} )) && _describe -t @COMMAND@ '@COMMAND@' candidates "${opts[@]}"
    (( files )) && _files
    return 0
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    @FUNCTION@ "$@"
else
    compdef @FUNCTION@ @COMMAND@
fi
)";

constexpr std::string_view fish_script = R"(# fish completion for @COMMAND@
# Load with: @COMMAND@ completion fish | source
function _@FUNCTION@_complete
    set -l tokens (commandline -opc) (commandline -ct)
    set -l out ($tokens[1] __complete $tokens[2..-1] 2>/dev/null)
    for line in $out
        switch $line
            case ':files'
                __fish_complete_path (commandline -ct)
            case ':*'
            case '*'
                echo $line
        end
    end
end
complete -c @COMMAND@ -f -a '(_@FUNCTION@_complete)'
)";

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
}

}  // namespace

std::optional<std::string> completion_script(std::string_view shell, std::string_view command) {
  std::string script;
  if (shell == "bash")
    script = bash_script;
  else if (shell == "zsh")
    script = zsh_script;
  else if (shell == "fish")
    script = fish_script;
  else
    return std::nullopt;
  // Shell function names: harmony-fleet -> _harmony_fleet.
  std::string function = "_" + std::string(command);
  for (char& c : function)
    if (c == '-' || c == '.') c = '_';
  replace_all(script, "@COMMAND@", command);
  replace_all(script, "@FUNCTION@", function);
  return script;
}

}  // namespace harmony::plugin
