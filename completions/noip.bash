# bash completion for noip(1)                              -*- shell-script -*-
# Installed as .../bash-completion/completions/noip; needs bash-completion.

# _noip_ls_endpoints prints the endpoints `noip ls --path` takes, from
# `noip ls -a` run with the options given before "ls" (which may choose
# the socket directory): the ENDPOINT column, with "udp/" in front of
# datagram ones.
_noip_ls_endpoints()
{
    "$1" "${@:2}" ls -a 2>/dev/null |
        awk '$1 != "ENDPOINT" && $1 !~ /^#/ && !/^no endpoints in / && NF {
            print ($2 == "udp" ? "udp/" : "") $1 }'
}

# _noip_offset K sets off to the index in COMP_WORDS of words[K]: the words
# of _init_completion rejoin what "=" and ":" split in COMP_WORDS, and
# _command_offset counts in COMP_WORDS.
_noip_offset()
{
    local k s
    off=0
    for ((k = 0; k < $1; k++)); do
        s=
        while [[ $s != "${words[k]}" ]] && ((off < ${#COMP_WORDS[@]})); do
            s+=${COMP_WORDS[off++]}
        done
    done
}

_noip()
{
    local cur prev words cword split
    _init_completion -s -n : || return

    # Walk the words as noip parses them: options (some with a value) up to
    # "--" or the first other word, which is a subcommand or COMMAND.
    local i off opts=() sub=""
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --)
                _noip_offset $((i + 1))
                _command_offset $off
                return
                ;;
            --config | --socketdir | --realbind | --realconnect | --impbind | --autoports)
                opts+=("${words[i]}" "${words[i + 1]}")
                ((i++))
                ;;
            -*)
                opts+=("${words[i]}")
                ;;
            check | explain | ls | gc)
                sub=${words[i]}
                break
                ;;
            *)
                # COMMAND: complete its arguments as its own completion would.
                _noip_offset $i
                _command_offset $off
                return
                ;;
        esac
    done

    case $sub in
        check)
            ((cword == i + 1)) && _filedir
            return
            ;;
        explain)
            ((cword == i + 1)) && COMPREPLY=($(compgen -W 'bind connect' -- "$cur"))
            return
            ;;
        ls)
            case $prev in
                --path)
                    local eps
                    eps=$(_noip_ls_endpoints "${words[0]}" "${opts[@]}")
                    COMPREPLY=($(compgen -W "$eps" -- "$cur"))
                    __ltrim_colon_completions "$cur"
                    return
                    ;;
            esac
            COMPREPLY=($(compgen -W '-a -l -t -u --json --path' -- "$cur"))
            return
            ;;
        gc)
            return
            ;;
    esac

    # Still among the options: an option's value, an option, or the word
    # that is a subcommand or COMMAND.
    case $prev in
        --config)
            _filedir
            return
            ;;
        --socketdir)
            _filedir -d
            return
            ;;
        --realbind | --realconnect | --impbind | --autoports)
            # Rules and ranges: nothing to offer.
            return
            ;;
    esac
    $split && return

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '--config --socketdir --realbind --realconnect
            --impbind --autoports --debug --help --version --' -- "$cur"))
        return
    fi
    # The commands of $PATH, as at the start of a command line, and the
    # subcommands.
    _noip_offset $cword
    _command_offset $off
    COMPREPLY+=($(compgen -W 'check explain ls gc' -- "$cur"))
} &&
    complete -F _noip noip

# ex: filetype=sh
