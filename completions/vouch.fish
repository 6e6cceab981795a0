# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_vouch_global_optspecs
    string join \n store= config-dir= v/verbose no-input h/help V/version
end

function __fish_vouch_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_vouch_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_vouch_using_subcommand
    set -l cmd (__fish_vouch_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c vouch -n "__fish_vouch_needs_command" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_needs_command" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_needs_command" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_needs_command" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_needs_command" -s h -l help -d 'Print help'
complete -c vouch -n "__fish_vouch_needs_command" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "login" -d 'Sign in and store the credential once the provider has confirmed it'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "status" -d 'Show whether profiles are signed in (offline unless --verify)'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "token" -d 'Print a profile\'s access token to stdout'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "refresh" -d 'Renew the access token now with the refresh token (or the client secret)'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "rotate" -d 'Replace the long-lived credential with a fresh one, never losing a working one'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "logout" -d 'Revoke and delete a profile\'s stored credential (keeps its settings)'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "exec" -d 'Run a command with a fresh access token in its environment (never in its arguments)'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "api" -d 'Call an API with a profile\'s token (Bearer, or DPoP with a proof); the body on stdout'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "git-credential" -d 'git credential helper: `get`, `store` and `erase` on stdin/stdout (gitcredentials(7))'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "setup-git" -d 'Make git use vouch for a host (credential.https://HOST.helper)'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "doctor" -d 'Tell why vouch cannot work here, and what to do (offline unless --online)'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "kube-credential" -d 'kubectl exec credential plugin: an ExecCredential with a fresh token on stdout'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "setup-kube" -d 'Make a kubeconfig context authenticate through vouch (an exec user)'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "cargo-credential" -d 'cargo credential provider: cargo\'s JSON protocol on stdin/stdout'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "setup-cargo" -d 'Make cargo get a registry\'s token from vouch (registries.NAME.credential-provider)'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "docker-credential" -d 'docker credential helper: get, store, erase, list, version (docker-credential-helpers)'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "setup-docker" -d 'Make docker get a registry\'s token from vouch (credHelpers in ~/.docker/config.json)'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c vouch -n "__fish_vouch_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vouch -n "__fish_vouch_using_subcommand login" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand login" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand login" -l issuer -d 'Issuer URL of the provider (needed the first time, unless --provider)' -r
complete -c vouch -n "__fish_vouch_using_subcommand login" -l client-id -d 'OAuth client id (needed the first time)' -r
complete -c vouch -n "__fish_vouch_using_subcommand login" -l scope -d 'Scope to request; repeat it or separate scopes with spaces [default: the profile\'s, else "openid", plus "offline_access" when the OpenID provider offers it]' -r
complete -c vouch -n "__fish_vouch_using_subcommand login" -l provider -d 'Built-in provider preset, used instead of discovery (bring your own OAuth App client id)' -r -f -a "github\t''"
complete -c vouch -n "__fish_vouch_using_subcommand login" -l timeout -d 'Give up waiting for approval after this many seconds (1 to 86400)' -r
complete -c vouch -n "__fish_vouch_using_subcommand login" -l token-url -d 'Token endpoint, for providers without discovery' -r
complete -c vouch -n "__fish_vouch_using_subcommand login" -l device-url -d 'Device authorization endpoint, for providers without discovery' -r
complete -c vouch -n "__fish_vouch_using_subcommand login" -l auth-url -d 'Authorization endpoint, for providers without discovery' -r
complete -c vouch -n "__fish_vouch_using_subcommand login" -l revoke-url -d 'Revocation endpoint (RFC 7009), for providers without discovery' -r
complete -c vouch -n "__fish_vouch_using_subcommand login" -l redirect-uri -d 'Browser redirect URI exactly as registered at the provider: http://127.0.0.1, [::1] or localhost, a port (or none for any free one) and a path; saved in the profile' -r
complete -c vouch -n "__fish_vouch_using_subcommand login" -l redirect-port -d 'Fixed port for the browser redirect (http://127.0.0.1:PORT/callback, or the saved redirect URI with this port); saved in the profile' -r
complete -c vouch -n "__fish_vouch_using_subcommand login" -l userinfo-url -d 'Userinfo endpoint, or any URL that answers 2xx to a valid bearer token; used to confirm tokens before storing them' -r
complete -c vouch -n "__fish_vouch_using_subcommand login" -l api-base -d 'Base URL of the API this profile\'s tokens are for: `vouch api` resolves relative URLs against it and may send the token there; saved in the profile' -r
complete -c vouch -n "__fish_vouch_using_subcommand login" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand login" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand login" -l device -d 'Device authorization (RFC 8628): show a code to enter on another device [default when the provider offers it]'
complete -c vouch -n "__fish_vouch_using_subcommand login" -l browser -d 'Authorization code with PKCE in the system browser, redirected to a loopback address'
complete -c vouch -n "__fish_vouch_using_subcommand login" -l paste -d 'Browser sign-in without a local browser (over ssh): print the URL, then read back the address the browser was sent to, pasted on the terminal; implies --browser'
complete -c vouch -n "__fish_vouch_using_subcommand login" -l client-credentials -d 'Sign in as a confidential client (CI, service accounts); the client secret comes from VOUCH_CLIENT_SECRET, stdin, or a hidden prompt, never the command line'
complete -c vouch -n "__fish_vouch_using_subcommand login" -l with-token -d 'Store an existing access token read from stdin (or a hidden prompt), once the provider accepts it'
complete -c vouch -n "__fish_vouch_using_subcommand login" -l no-open -d 'Do not open a browser (the URL is printed on stderr either way)'
complete -c vouch -n "__fish_vouch_using_subcommand login" -l confidential -d 'The client has a secret even though a person signs in (Google\'s desktop and TV clients): authenticate with the one in VOUCH_CLIENT_SECRET, and keep it for refreshes'
complete -c vouch -n "__fish_vouch_using_subcommand login" -l dpop -d 'Bind the tokens to a new key kept in the credential store (DPoP, RFC 9449), so that a copied token is useless elsewhere; saved in the profile. Use the profile through `vouch api`'
complete -c vouch -n "__fish_vouch_using_subcommand login" -l json -d 'On success, print the signed-in profile as JSON on stdout'
complete -c vouch -n "__fish_vouch_using_subcommand login" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand login" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand status" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand status" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand status" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand status" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand status" -l json -d 'Print JSON: an object for a named profile, an array otherwise'
complete -c vouch -n "__fish_vouch_using_subcommand status" -l verify -d 'Also ask the provider whether each stored token is still accepted'
complete -c vouch -n "__fish_vouch_using_subcommand status" -s h -l help -d 'Print help'
complete -c vouch -n "__fish_vouch_using_subcommand status" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand token" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand token" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand token" -l min-ttl -d 'Refresh first unless the token stays valid at least this many seconds' -r
complete -c vouch -n "__fish_vouch_using_subcommand token" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand token" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand token" -l json -d 'Print JSON with the token, its type and expiry instead of the bare token'
complete -c vouch -n "__fish_vouch_using_subcommand token" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand token" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand refresh" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand refresh" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand refresh" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand refresh" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand refresh" -s h -l help -d 'Print help'
complete -c vouch -n "__fish_vouch_using_subcommand refresh" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand rotate" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand rotate" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand rotate" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand rotate" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand rotate" -l client-secret-stdin -d 'Client-credentials profiles: read the new client secret from stdin'
complete -c vouch -n "__fish_vouch_using_subcommand rotate" -l no-open -d 'Do not open a browser if an interactive sign-in is needed'
complete -c vouch -n "__fish_vouch_using_subcommand rotate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand rotate" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand logout" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand logout" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand logout" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand logout" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand logout" -l all -d 'Sign out of every profile'
complete -c vouch -n "__fish_vouch_using_subcommand logout" -l orphans -d 'Revoke and delete the credentials in the store that no profile of this configuration owns (left by a deleted config, another --config-dir, or an older vouch)'
complete -c vouch -n "__fish_vouch_using_subcommand logout" -s h -l help -d 'Print help'
complete -c vouch -n "__fish_vouch_using_subcommand logout" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand exec" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand exec" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand exec" -l env -d 'Environment variable that receives the token' -r
complete -c vouch -n "__fish_vouch_using_subcommand exec" -l min-ttl -d 'Refresh first unless the token stays valid at least this many seconds' -r
complete -c vouch -n "__fish_vouch_using_subcommand exec" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand exec" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand exec" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand api" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand api" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand api" -s X -l method -d 'HTTP method' -r
complete -c vouch -n "__fish_vouch_using_subcommand api" -s H -l header -d 'A request header, \'Name: value\'; repeatable (never Authorization or DPoP)' -r
complete -c vouch -n "__fish_vouch_using_subcommand api" -l data -d 'Request body: @FILE, - for stdin, or the text itself [Content-Type default: application/json]' -r
complete -c vouch -n "__fish_vouch_using_subcommand api" -l min-ttl -d 'Refresh first unless the token stays valid at least this many seconds' -r
complete -c vouch -n "__fish_vouch_using_subcommand api" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand api" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand api" -s i -l include -d 'Print the status line and the response headers before the body'
complete -c vouch -n "__fish_vouch_using_subcommand api" -l paginate -d 'Follow `Link: <...>; rel="next"` (GET only), printing each page\'s body in turn'
complete -c vouch -n "__fish_vouch_using_subcommand api" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand api" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand git-credential" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand git-credential" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand git-credential" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand git-credential" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand git-credential" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand git-credential" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand setup-git" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand setup-git" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand setup-git" -l host -d 'Host to serve: HOST[:PORT][/PATH] over https, or http://HOST:PORT for loopback' -r
complete -c vouch -n "__fish_vouch_using_subcommand setup-git" -l profile -d 'Profile that answers for the host [default: $VOUCH_PROFILE, or the only profile]' -r
complete -c vouch -n "__fish_vouch_using_subcommand setup-git" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand setup-git" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand setup-git" -l global -d 'Write git\'s global configuration (the default)'
complete -c vouch -n "__fish_vouch_using_subcommand setup-git" -l local -d 'Write the current repository\'s configuration'
complete -c vouch -n "__fish_vouch_using_subcommand setup-git" -l remove -d 'Undo: remove the host from the profile and vouch from git\'s configuration'
complete -c vouch -n "__fish_vouch_using_subcommand setup-git" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand setup-git" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand doctor" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand doctor" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand doctor" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand doctor" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand doctor" -l json -d 'Print JSON: {"checks": [{"name", "status", "detail", "remedy"}...], "exit_code"}'
complete -c vouch -n "__fish_vouch_using_subcommand doctor" -l online -d 'Also ask each profile\'s provider: reachability, discovery, and clock skew (HTTP Date)'
complete -c vouch -n "__fish_vouch_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand kube-credential" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand kube-credential" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand kube-credential" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand kube-credential" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand kube-credential" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand kube-credential" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand setup-kube" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand setup-kube" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand setup-kube" -l context -d 'The kubeconfig context that should authenticate through vouch' -r
complete -c vouch -n "__fish_vouch_using_subcommand setup-kube" -l profile -d 'Profile whose tokens kubectl gets [default: $VOUCH_PROFILE, or the only profile]' -r
complete -c vouch -n "__fish_vouch_using_subcommand setup-kube" -l kubeconfig -d 'The kubeconfig to edit [default: $KUBECONFIG\'s first file, else ~/.kube/config]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand setup-kube" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand setup-kube" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand setup-kube" -l remove -d 'Undo: the context no longer uses vouch\'s user, which goes once no context does'
complete -c vouch -n "__fish_vouch_using_subcommand setup-kube" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand setup-kube" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand cargo-credential" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand cargo-credential" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand cargo-credential" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand cargo-credential" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand cargo-credential" -l cargo-plugin -d 'Added by cargo to every credential provider it runs'
complete -c vouch -n "__fish_vouch_using_subcommand cargo-credential" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand cargo-credential" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand setup-cargo" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand setup-cargo" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand setup-cargo" -l registry -d 'The registry\'s name in cargo\'s configuration ([registries.NAME])' -r
complete -c vouch -n "__fish_vouch_using_subcommand setup-cargo" -l profile -d 'Profile whose tokens cargo gets [default: $VOUCH_PROFILE, or the only profile]' -r
complete -c vouch -n "__fish_vouch_using_subcommand setup-cargo" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand setup-cargo" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand setup-cargo" -l remove -d 'Undo: remove vouch as the registry\'s credential provider'
complete -c vouch -n "__fish_vouch_using_subcommand setup-cargo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand setup-cargo" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand docker-credential" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand docker-credential" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand docker-credential" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand docker-credential" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand docker-credential" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand docker-credential" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand setup-docker" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand setup-docker" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand setup-docker" -l registry -d 'The registry, as docker names it: its host, with :PORT when it has one' -r
complete -c vouch -n "__fish_vouch_using_subcommand setup-docker" -l profile -d 'Profile whose tokens docker gets [default: $VOUCH_PROFILE, or the only profile]' -r
complete -c vouch -n "__fish_vouch_using_subcommand setup-docker" -l username -d 'The username the registry expects with the token (oauth2, <token>, an account name) [default: oauth2]' -r
complete -c vouch -n "__fish_vouch_using_subcommand setup-docker" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand setup-docker" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand setup-docker" -l remove -d 'Undo: remove vouch from the registry\'s credHelpers and the host from the profile'
complete -c vouch -n "__fish_vouch_using_subcommand setup-docker" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand setup-docker" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand completions" -l store -d 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows' -r -f -a "auto\t'The platform\'s store: Keychain, Credential Manager, or on Linux the Secret Service when a session bus answers, else kernel keyutils'
secret-service\t'freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)'
keyutils\t'Linux kernel user keyring; kept until reboot'
keychain\t'macOS Keychain'
windows\t'Windows Credential Manager'"
complete -c vouch -n "__fish_vouch_using_subcommand completions" -l config-dir -d 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]' -r -F
complete -c vouch -n "__fish_vouch_using_subcommand completions" -s v -l verbose -d 'Log operations, endpoints and status codes to stderr (never secrets)'
complete -c vouch -n "__fish_vouch_using_subcommand completions" -l no-input -d 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
complete -c vouch -n "__fish_vouch_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vouch -n "__fish_vouch_using_subcommand completions" -s V -l version -d 'Print version'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "login" -d 'Sign in and store the credential once the provider has confirmed it'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "status" -d 'Show whether profiles are signed in (offline unless --verify)'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "token" -d 'Print a profile\'s access token to stdout'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "refresh" -d 'Renew the access token now with the refresh token (or the client secret)'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "rotate" -d 'Replace the long-lived credential with a fresh one, never losing a working one'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "logout" -d 'Revoke and delete a profile\'s stored credential (keeps its settings)'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "exec" -d 'Run a command with a fresh access token in its environment (never in its arguments)'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "api" -d 'Call an API with a profile\'s token (Bearer, or DPoP with a proof); the body on stdout'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "git-credential" -d 'git credential helper: `get`, `store` and `erase` on stdin/stdout (gitcredentials(7))'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "setup-git" -d 'Make git use vouch for a host (credential.https://HOST.helper)'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "doctor" -d 'Tell why vouch cannot work here, and what to do (offline unless --online)'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "kube-credential" -d 'kubectl exec credential plugin: an ExecCredential with a fresh token on stdout'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "setup-kube" -d 'Make a kubeconfig context authenticate through vouch (an exec user)'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "cargo-credential" -d 'cargo credential provider: cargo\'s JSON protocol on stdin/stdout'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "setup-cargo" -d 'Make cargo get a registry\'s token from vouch (registries.NAME.credential-provider)'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "docker-credential" -d 'docker credential helper: get, store, erase, list, version (docker-credential-helpers)'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "setup-docker" -d 'Make docker get a registry\'s token from vouch (credHelpers in ~/.docker/config.json)'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c vouch -n "__fish_vouch_using_subcommand help; and not __fish_seen_subcommand_from login status token refresh rotate logout exec api git-credential setup-git doctor kube-credential setup-kube cargo-credential setup-cargo docker-credential setup-docker completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
