# fish completion for noip(1).
# Installed as .../fish/vendor_completions.d/noip.fish.

# __noip_where prints, one a line, where the token being completed is
# (walking the tokens before it as noip parses them), and the index of the
# subcommand or COMMAND among those tokens, noip being 1:
#   options              an option, or the first word: subcommand or COMMAND
#   value                the value of the option before it
#   check0 explain0      the first argument of check or explain
#   check explain ls gc  a later argument of the subcommand
#   command              COMMAND's arguments, or COMMAND itself after --
function __noip_where
    set -l tokens (commandline -opc)
    set -l n (count $tokens)
    set -l i 2
    while test $i -le $n
        switch $tokens[$i]
            case --
                printf '%s\n' command (math $i + 1)
                return
            case --config --socketdir --realbind --realconnect --impbind --autoports
                if test $i -eq $n
                    echo value
                    return
                end
                set i (math $i + 1)
            case '-*'
            case check explain ls gc
                if test $i -eq $n; and contains -- $tokens[$i] check explain
                    printf '%s\n' $tokens[$i]0 $i
                else
                    printf '%s\n' $tokens[$i] $i
                end
                return
            case '*'
                printf '%s\n' command $i
                return
        end
        set i (math $i + 1)
    end
    echo options
end

# __noip_at WHERE... succeeds when the token being completed is at one of
# the places WHERE.
function __noip_at
    set -l w (__noip_where)
    contains -- $w[1] $argv
end

# __noip_command completes COMMAND and its arguments as fish completes a
# command line that starts with COMMAND.
function __noip_command
    set -l w (__noip_where)
    set -l tokens (commandline -opc)
    set -l rest $tokens[$w[2]..-1] (commandline -ct)
    complete -C (string escape -- $rest | string join ' ')
end

# __noip_endpoints prints the endpoints `noip ls --path` takes, from
# `noip ls -a` run with the options given before "ls" (which may choose
# the socket directory): the ENDPOINT column, with "udp/" in front of
# datagram ones.
function __noip_endpoints
    set -l w (__noip_where)
    set -l tokens (commandline -opc)
    set -l opts
    if test $w[2] -gt 2
        set opts $tokens[2..(math $w[2] - 1)]
    end
    $tokens[1] $opts ls -a 2>/dev/null |
        awk '$1 != "ENDPOINT" && $1 !~ /^#/ && !/^no endpoints in / && NF {
            print ($2 == "udp" ? "udp/" : "") $1 }'
end

complete -c noip -f

set -l opt '__noip_at options value'
complete -c noip -n $opt -l config -r -F -d 'Read FILE instead of $NOIP_CONFIG or ~/.noip'
complete -c noip -n $opt -l socketdir -x -a '(__fish_complete_directories (commandline -ct))' -d 'Where plastic endpoints live'
complete -c noip -n $opt -l realbind -x -d 'Addresses bound for real (ACL)'
complete -c noip -n $opt -l realconnect -x -d 'Addresses connected to for real (ACL)'
complete -c noip -n $opt -l impbind -x -d 'Local addresses of implicitly bound sockets'
complete -c noip -n $opt -l autoports -x -d 'Ports picked for port 0 (MIN-MAX)'
complete -c noip -n $opt -l debug -d "Log each decision on the program's stderr"
complete -c noip -n $opt -l help -d 'Print a summary of the command line'
complete -c noip -n $opt -l version -d 'Print the version'

set -l first '__noip_at options'
complete -c noip -n $first -a check -d 'Validate the configuration and print its rules'
complete -c noip -n $first -a explain -d 'Say which rule decides for an address'
complete -c noip -n $first -a ls -d 'List the endpoints in the socket directory'
complete -c noip -n $first -a gc -d 'Remove the stale endpoints'
complete -c noip -n $first -a '(__fish_complete_command)'

complete -c noip -n '__noip_at command' -a '(__noip_command)'

complete -c noip -n '__noip_at check0' -F
complete -c noip -n '__noip_at explain0' -a 'bind connect'

set -l ls '__noip_at ls'
complete -c noip -n $ls -s a -d 'All endpoints, stale ones too'
complete -c noip -n $ls -s l -d 'Only listening endpoints'
complete -c noip -n $ls -s t -d 'Only TCP endpoints'
complete -c noip -n $ls -s u -d 'Only UDP endpoints'
complete -c noip -n $ls -l json -d 'Print a JSON array'
complete -c noip -n $ls -l path -x -a '(__noip_endpoints)' -d "Print an endpoint's path"
