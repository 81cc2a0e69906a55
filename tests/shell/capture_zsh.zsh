#!/usr/bin/env zsh
# Print what zsh's completion system offers for a command line, one match a line.
# Usage: capture_zsh.zsh FPATH_DIR 'convcalc sh'
# Runs an interactive zsh in a pseudo-terminal (zpty), loads compinit with the
# completion files of FPATH_DIR, types the line and TAB, and reads back the
# matches that compadd received. After zsh-capture-completion (MIT, Valodim).
zmodload zsh/zpty || exit 2
fpath_dir=$1
shift
zpty z zsh -f -i
local line init
init=$(mktemp)
trap "rm -f $init $init.dump" EXIT
cat > $init <<INIT
PROMPT=
fpath=($fpath_dir \$fpath)
autoload -Uz compinit
compinit -u -d $init.dump
bindkey '^I' complete-word
null-line () { echo -E - \$'\0' }
compprefuncs=( null-line )
comppostfuncs=( null-line exit )
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
compadd () {
    if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
        builtin compadd "\$@"
        return \$?
    fi
    typeset -a __hits
    builtin compadd -A __hits "\$@"
    [[ -n \$__hits ]] || return
    local i
    for i in {1..\$#__hits}; do echo -E - "\$__hits[\$i]"; done
}
echo ok
INIT
zpty -w z "source $init"
repeat 8; do
    zpty -r z line
    [[ $line == ok* ]] && break
done
zpty -w z "$*"$'\t'
integer tog=0
while zpty -r z; do :; done | while IFS= read -r line; do
    if [[ $line == *$'\0\r' ]]; then
        (( tog++ )) && exit 0 || continue
    fi
    (( tog )) && echo -E - ${line%$'\r'}
done
