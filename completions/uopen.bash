# bash completion for uopen(1)                             -*- shell-script -*-
# Installed as .../bash-completion/completions/uopen; needs bash-completion.

_uopen()
{
    local cur prev words cword
    _init_completion || return

    # No option takes a value, so COMP_WORDS can be walked as it is, in the
    # indexes _command_offset counts in: options up to "--" or COMMAND.
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --)
                _command_offset $((i + 1))
                return
                ;;
            -*) ;;
            *)
                _command_offset $i
                return
                ;;
        esac
    done

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '--debug --help --version --' -- "$cur"))
        return
    fi
    _command_offset $COMP_CWORD
} &&
    complete -F _uopen uopen

# ex: filetype=sh
