
use builtin;
use str;

set edit:completion:arg-completer[vouch] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'vouch'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'vouch'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand login 'Sign in and store the credential once the provider has confirmed it'
            cand status 'Show whether profiles are signed in (offline unless --verify)'
            cand token 'Print a profile''s access token to stdout'
            cand refresh 'Renew the access token now with the refresh token (or the client secret)'
            cand rotate 'Replace the long-lived credential with a fresh one, never losing a working one'
            cand logout 'Revoke and delete a profile''s stored credential (keeps its settings)'
            cand exec 'Run a command with a fresh access token in its environment (never in its arguments)'
            cand api 'Call an API with a profile''s token (Bearer, or DPoP with a proof); the body on stdout'
            cand git-credential 'git credential helper: `get`, `store` and `erase` on stdin/stdout (gitcredentials(7))'
            cand setup-git 'Make git use vouch for a host (credential.https://HOST.helper)'
            cand doctor 'Tell why vouch cannot work here, and what to do (offline unless --online)'
            cand kube-credential 'kubectl exec credential plugin: an ExecCredential with a fresh token on stdout'
            cand setup-kube 'Make a kubeconfig context authenticate through vouch (an exec user)'
            cand cargo-credential 'cargo credential provider: cargo''s JSON protocol on stdin/stdout'
            cand setup-cargo 'Make cargo get a registry''s token from vouch (registries.NAME.credential-provider)'
            cand docker-credential 'docker credential helper: get, store, erase, list, version (docker-credential-helpers)'
            cand setup-docker 'Make docker get a registry''s token from vouch (credHelpers in ~/.docker/config.json)'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vouch;login'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand --issuer 'Issuer URL of the provider (needed the first time, unless --provider)'
            cand --client-id 'OAuth client id (needed the first time)'
            cand --scope 'Scope to request; repeat it or separate scopes with spaces [default: the profile''s, else "openid", plus "offline_access" when the OpenID provider offers it]'
            cand --provider 'Built-in provider preset, used instead of discovery (bring your own OAuth App client id)'
            cand --timeout 'Give up waiting for approval after this many seconds (1 to 86400)'
            cand --token-url 'Token endpoint, for providers without discovery'
            cand --device-url 'Device authorization endpoint, for providers without discovery'
            cand --auth-url 'Authorization endpoint, for providers without discovery'
            cand --revoke-url 'Revocation endpoint (RFC 7009), for providers without discovery'
            cand --redirect-uri 'Browser redirect URI exactly as registered at the provider: http://127.0.0.1, [::1] or localhost, a port (or none for any free one) and a path; saved in the profile'
            cand --redirect-port 'Fixed port for the browser redirect (http://127.0.0.1:PORT/callback, or the saved redirect URI with this port); saved in the profile'
            cand --userinfo-url 'Userinfo endpoint, or any URL that answers 2xx to a valid bearer token; used to confirm tokens before storing them'
            cand --api-base 'Base URL of the API this profile''s tokens are for: `vouch api` resolves relative URLs against it and may send the token there; saved in the profile'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand --device 'Device authorization (RFC 8628): show a code to enter on another device [default when the provider offers it]'
            cand --browser 'Authorization code with PKCE in the system browser, redirected to a loopback address'
            cand --paste 'Browser sign-in without a local browser (over ssh): print the URL, then read back the address the browser was sent to, pasted on the terminal; implies --browser'
            cand --client-credentials 'Sign in as a confidential client (CI, service accounts); the client secret comes from VOUCH_CLIENT_SECRET, stdin, or a hidden prompt, never the command line'
            cand --with-token 'Store an existing access token read from stdin (or a hidden prompt), once the provider accepts it'
            cand --no-open 'Do not open a browser (the URL is printed on stderr either way)'
            cand --confidential 'The client has a secret even though a person signs in (Google''s desktop and TV clients): authenticate with the one in VOUCH_CLIENT_SECRET, and keep it for refreshes'
            cand --dpop 'Bind the tokens to a new key kept in the credential store (DPoP, RFC 9449), so that a copied token is useless elsewhere; saved in the profile. Use the profile through `vouch api`'
            cand --json 'On success, print the signed-in profile as JSON on stdout'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;status'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand --json 'Print JSON: an object for a named profile, an array otherwise'
            cand --verify 'Also ask the provider whether each stored token is still accepted'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;token'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand --min-ttl 'Refresh first unless the token stays valid at least this many seconds'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand --json 'Print JSON with the token, its type and expiry instead of the bare token'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;refresh'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;rotate'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand --client-secret-stdin 'Client-credentials profiles: read the new client secret from stdin'
            cand --no-open 'Do not open a browser if an interactive sign-in is needed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;logout'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand --all 'Sign out of every profile'
            cand --orphans 'Revoke and delete the credentials in the store that no profile of this configuration owns (left by a deleted config, another --config-dir, or an older vouch)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;exec'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand --env 'Environment variable that receives the token'
            cand --min-ttl 'Refresh first unless the token stays valid at least this many seconds'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;api'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand -X 'HTTP method'
            cand --method 'HTTP method'
            cand -H 'A request header, ''Name: value''; repeatable (never Authorization or DPoP)'
            cand --header 'A request header, ''Name: value''; repeatable (never Authorization or DPoP)'
            cand --data 'Request body: @FILE, - for stdin, or the text itself [Content-Type default: application/json]'
            cand --min-ttl 'Refresh first unless the token stays valid at least this many seconds'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand -i 'Print the status line and the response headers before the body'
            cand --include 'Print the status line and the response headers before the body'
            cand --paginate 'Follow `Link: <...>; rel="next"` (GET only), printing each page''s body in turn'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;git-credential'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;setup-git'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand --host 'Host to serve: HOST[:PORT][/PATH] over https, or http://HOST:PORT for loopback'
            cand --profile 'Profile that answers for the host [default: $VOUCH_PROFILE, or the only profile]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand --global 'Write git''s global configuration (the default)'
            cand --local 'Write the current repository''s configuration'
            cand --remove 'Undo: remove the host from the profile and vouch from git''s configuration'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;doctor'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand --json 'Print JSON: {"checks": [{"name", "status", "detail", "remedy"}...], "exit_code"}'
            cand --online 'Also ask each profile''s provider: reachability, discovery, and clock skew (HTTP Date)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;kube-credential'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;setup-kube'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand --context 'The kubeconfig context that should authenticate through vouch'
            cand --profile 'Profile whose tokens kubectl gets [default: $VOUCH_PROFILE, or the only profile]'
            cand --kubeconfig 'The kubeconfig to edit [default: $KUBECONFIG''s first file, else ~/.kube/config]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand --remove 'Undo: the context no longer uses vouch''s user, which goes once no context does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;cargo-credential'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand --cargo-plugin 'Added by cargo to every credential provider it runs'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;setup-cargo'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand --registry 'The registry''s name in cargo''s configuration ([registries.NAME])'
            cand --profile 'Profile whose tokens cargo gets [default: $VOUCH_PROFILE, or the only profile]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand --remove 'Undo: remove vouch as the registry''s credential provider'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;docker-credential'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;setup-docker'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand --registry 'The registry, as docker names it: its host, with :PORT when it has one'
            cand --profile 'Profile whose tokens docker gets [default: $VOUCH_PROFILE, or the only profile]'
            cand --username 'The username the registry expects with the token (oauth2, <token>, an account name) [default: oauth2]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand --remove 'Undo: remove vouch from the registry''s credHelpers and the host from the profile'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;completions'= {
            cand --store 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows'
            cand --config-dir 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]'
            cand -v 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --verbose 'Log operations, endpoints and status codes to stderr (never secrets)'
            cand --no-input 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vouch;help'= {
            cand login 'Sign in and store the credential once the provider has confirmed it'
            cand status 'Show whether profiles are signed in (offline unless --verify)'
            cand token 'Print a profile''s access token to stdout'
            cand refresh 'Renew the access token now with the refresh token (or the client secret)'
            cand rotate 'Replace the long-lived credential with a fresh one, never losing a working one'
            cand logout 'Revoke and delete a profile''s stored credential (keeps its settings)'
            cand exec 'Run a command with a fresh access token in its environment (never in its arguments)'
            cand api 'Call an API with a profile''s token (Bearer, or DPoP with a proof); the body on stdout'
            cand git-credential 'git credential helper: `get`, `store` and `erase` on stdin/stdout (gitcredentials(7))'
            cand setup-git 'Make git use vouch for a host (credential.https://HOST.helper)'
            cand doctor 'Tell why vouch cannot work here, and what to do (offline unless --online)'
            cand kube-credential 'kubectl exec credential plugin: an ExecCredential with a fresh token on stdout'
            cand setup-kube 'Make a kubeconfig context authenticate through vouch (an exec user)'
            cand cargo-credential 'cargo credential provider: cargo''s JSON protocol on stdin/stdout'
            cand setup-cargo 'Make cargo get a registry''s token from vouch (registries.NAME.credential-provider)'
            cand docker-credential 'docker credential helper: get, store, erase, list, version (docker-credential-helpers)'
            cand setup-docker 'Make docker get a registry''s token from vouch (credHelpers in ~/.docker/config.json)'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vouch;help;login'= {
        }
        &'vouch;help;status'= {
        }
        &'vouch;help;token'= {
        }
        &'vouch;help;refresh'= {
        }
        &'vouch;help;rotate'= {
        }
        &'vouch;help;logout'= {
        }
        &'vouch;help;exec'= {
        }
        &'vouch;help;api'= {
        }
        &'vouch;help;git-credential'= {
        }
        &'vouch;help;setup-git'= {
        }
        &'vouch;help;doctor'= {
        }
        &'vouch;help;kube-credential'= {
        }
        &'vouch;help;setup-kube'= {
        }
        &'vouch;help;cargo-credential'= {
        }
        &'vouch;help;setup-cargo'= {
        }
        &'vouch;help;docker-credential'= {
        }
        &'vouch;help;setup-docker'= {
        }
        &'vouch;help;completions'= {
        }
        &'vouch;help;help'= {
        }
    ]
    $completions[$command]
}
