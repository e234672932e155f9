# Prints fish's completions of a command line, one a line.
# usage: fish --no-config complete.fish SCRIPT LINE
source $argv[1]
# A command with a completion of its own, for the delegation cases.
complete -c mytool -f -a '--xyz --xab'
complete -C $argv[2]
