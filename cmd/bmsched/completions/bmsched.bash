# bash completion for bmsched: commands, flags, and machine and toolchain
# names from the running daemon (nothing when no daemon answers).
_bmsched() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local words=("${COMP_WORDS[@]:0:COMP_CWORD}")
	local w opts
	# After "--" the words are a command's (bootstrap): complete files.
	for w in "${words[@]:1}"; do
		[[ $w == -- ]] && { COMPREPLY=(); return 0; }
	done
	if [[ $cur == -* ]]; then
		opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
	else
		opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
	fi
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _bmsched bmsched
