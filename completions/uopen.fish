# fish completion for uopen(1).
# Installed as .../fish/vendor_completions.d/uopen.fish.

# __uopen_command prints the index of COMMAND among the tokens before the
# one being completed (uopen being 1), if COMMAND has begun: after "--", or
# at the first word that is not an option (no option takes a value).
function __uopen_command
    set -l tokens (commandline -opc)
    set -l n (count $tokens)
    for i in (seq 2 $n)
        switch $tokens[$i]
            case --
                echo (math $i + 1)
                return 0
            case '-*'
            case '*'
                echo $i
                return 0
        end
    end
    return 1
end

# __uopen_complete completes COMMAND and its arguments as fish completes a
# command line that starts with COMMAND.
function __uopen_complete
    set -l at (__uopen_command)
    set -l tokens (commandline -opc)
    set -l rest $tokens[$at..-1] (commandline -ct)
    complete -C (string escape -- $rest | string join ' ')
end

complete -c uopen -f
complete -c uopen -n 'not __uopen_command' -l debug -d "Log each open served on the program's stderr"
complete -c uopen -n 'not __uopen_command' -l help -d 'Print a summary of the command line'
complete -c uopen -n 'not __uopen_command' -l version -d 'Print the version'
complete -c uopen -n 'not __uopen_command' -a '(__fish_complete_command)'
complete -c uopen -n __uopen_command -a '(__uopen_complete)'
