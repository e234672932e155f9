# Completes one command line with bash-completion's machinery, as readline
# does on TAB at the end of the line, and prints COMPREPLY, one a line.
# usage: bash complete.bash SCRIPT FUNCTION LINE WORD...
# where the WORDs are COMP_WORDS, LINE split as readline splits it.
source /usr/share/bash-completion/bash_completion
source "$1"
# A command with a completion of its own, for the delegation cases.
complete -W '--xyz --xab' mytool
func=$2
COMP_LINE=$3
shift 3
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_POINT=${#COMP_LINE}
"$func" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
