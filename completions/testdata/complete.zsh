# Completes one command line in an interactive zsh driven through a pseudo
# terminal, as TAB at the end of the line would, and writes the matches
# offered to OUT, one a line, then __END__.
# usage: zsh -f complete.zsh FPATH-DIR OUT LINE
# The inner shell runs with the caller's environment (PATH, HOME).
zmodload zsh/zpty zsh/zselect || exit 2
local dir=$1 out=$2 line=$3 i
: >$out
zpty z zsh -f -i
zpty -w z "PS1= RPS1=; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
# A command with a completion of its own, for the delegation cases.
zpty -w z "_mytool() { compadd -- --xyz --xab }; compdef _mytool mytool"
zpty -w z "bindkey '^I' complete-word"
# Record every match completion functions add (unquoted), except the trial
# runs of helpers that only compute matches (-O, -A, -D).
zpty -w z "compadd() {
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd \"\$@\"; return; fi
  local -a hits; builtin compadd -A hits \"\$@\"
  (( \$#hits )) && print -rl -- \${(Q)hits} >>${(q)out}
  builtin compadd \"\$@\"
}"
zpty -w z "_complete_done() { print -r -- __END__ >>${(q)out} }; comppostfuncs=(_complete_done)"
zpty -n -w z "$line"$'\t'
# Wait up to 30 s (600 times 50 ms) for the matches: the inner shell starts
# slowly on a machine busy with other tests.
for (( i = 0; i < 600; i++ )); do
  [[ $(<$out) == *__END__* ]] && break
  zpty -rt z junk 2>/dev/null
  zselect -t 5
done
zpty -d z
[[ $(<$out) == *__END__* ]]
