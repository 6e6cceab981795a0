
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'vouch' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'vouch'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'vouch' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Sign in and store the credential once the provider has confirmed it')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show whether profiles are signed in (offline unless --verify)')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print a profile''s access token to stdout')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Renew the access token now with the refresh token (or the client secret)')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Replace the long-lived credential with a fresh one, never losing a working one')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Revoke and delete a profile''s stored credential (keeps its settings)')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command with a fresh access token in its environment (never in its arguments)')
            [CompletionResult]::new('api', 'api', [CompletionResultType]::ParameterValue, 'Call an API with a profile''s token (Bearer, or DPoP with a proof); the body on stdout')
            [CompletionResult]::new('git-credential', 'git-credential', [CompletionResultType]::ParameterValue, 'git credential helper: `get`, `store` and `erase` on stdin/stdout (gitcredentials(7))')
            [CompletionResult]::new('setup-git', 'setup-git', [CompletionResultType]::ParameterValue, 'Make git use vouch for a host (credential.https://HOST.helper)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Tell why vouch cannot work here, and what to do (offline unless --online)')
            [CompletionResult]::new('kube-credential', 'kube-credential', [CompletionResultType]::ParameterValue, 'kubectl exec credential plugin: an ExecCredential with a fresh token on stdout')
            [CompletionResult]::new('setup-kube', 'setup-kube', [CompletionResultType]::ParameterValue, 'Make a kubeconfig context authenticate through vouch (an exec user)')
            [CompletionResult]::new('cargo-credential', 'cargo-credential', [CompletionResultType]::ParameterValue, 'cargo credential provider: cargo''s JSON protocol on stdin/stdout')
            [CompletionResult]::new('setup-cargo', 'setup-cargo', [CompletionResultType]::ParameterValue, 'Make cargo get a registry''s token from vouch (registries.NAME.credential-provider)')
            [CompletionResult]::new('docker-credential', 'docker-credential', [CompletionResultType]::ParameterValue, 'docker credential helper: get, store, erase, list, version (docker-credential-helpers)')
            [CompletionResult]::new('setup-docker', 'setup-docker', [CompletionResultType]::ParameterValue, 'Make docker get a registry''s token from vouch (credHelpers in ~/.docker/config.json)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'vouch;login' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'Issuer URL of the provider (needed the first time, unless --provider)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'OAuth client id (needed the first time)')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Scope to request; repeat it or separate scopes with spaces [default: the profile''s, else "openid", plus "offline_access" when the OpenID provider offers it]')
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Built-in provider preset, used instead of discovery (bring your own OAuth App client id)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up waiting for approval after this many seconds (1 to 86400)')
            [CompletionResult]::new('--token-url', '--token-url', [CompletionResultType]::ParameterName, 'Token endpoint, for providers without discovery')
            [CompletionResult]::new('--device-url', '--device-url', [CompletionResultType]::ParameterName, 'Device authorization endpoint, for providers without discovery')
            [CompletionResult]::new('--auth-url', '--auth-url', [CompletionResultType]::ParameterName, 'Authorization endpoint, for providers without discovery')
            [CompletionResult]::new('--revoke-url', '--revoke-url', [CompletionResultType]::ParameterName, 'Revocation endpoint (RFC 7009), for providers without discovery')
            [CompletionResult]::new('--redirect-uri', '--redirect-uri', [CompletionResultType]::ParameterName, 'Browser redirect URI exactly as registered at the provider: http://127.0.0.1, [::1] or localhost, a port (or none for any free one) and a path; saved in the profile')
            [CompletionResult]::new('--redirect-port', '--redirect-port', [CompletionResultType]::ParameterName, 'Fixed port for the browser redirect (http://127.0.0.1:PORT/callback, or the saved redirect URI with this port); saved in the profile')
            [CompletionResult]::new('--userinfo-url', '--userinfo-url', [CompletionResultType]::ParameterName, 'Userinfo endpoint, or any URL that answers 2xx to a valid bearer token; used to confirm tokens before storing them')
            [CompletionResult]::new('--api-base', '--api-base', [CompletionResultType]::ParameterName, 'Base URL of the API this profile''s tokens are for: `vouch api` resolves relative URLs against it and may send the token there; saved in the profile')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'Device authorization (RFC 8628): show a code to enter on another device [default when the provider offers it]')
            [CompletionResult]::new('--browser', '--browser', [CompletionResultType]::ParameterName, 'Authorization code with PKCE in the system browser, redirected to a loopback address')
            [CompletionResult]::new('--paste', '--paste', [CompletionResultType]::ParameterName, 'Browser sign-in without a local browser (over ssh): print the URL, then read back the address the browser was sent to, pasted on the terminal; implies --browser')
            [CompletionResult]::new('--client-credentials', '--client-credentials', [CompletionResultType]::ParameterName, 'Sign in as a confidential client (CI, service accounts); the client secret comes from VOUCH_CLIENT_SECRET, stdin, or a hidden prompt, never the command line')
            [CompletionResult]::new('--with-token', '--with-token', [CompletionResultType]::ParameterName, 'Store an existing access token read from stdin (or a hidden prompt), once the provider accepts it')
            [CompletionResult]::new('--no-open', '--no-open', [CompletionResultType]::ParameterName, 'Do not open a browser (the URL is printed on stderr either way)')
            [CompletionResult]::new('--confidential', '--confidential', [CompletionResultType]::ParameterName, 'The client has a secret even though a person signs in (Google''s desktop and TV clients): authenticate with the one in VOUCH_CLIENT_SECRET, and keep it for refreshes')
            [CompletionResult]::new('--dpop', '--dpop', [CompletionResultType]::ParameterName, 'Bind the tokens to a new key kept in the credential store (DPoP, RFC 9449), so that a copied token is useless elsewhere; saved in the profile. Use the profile through `vouch api`')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'On success, print the signed-in profile as JSON on stdout')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;status' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON: an object for a named profile, an array otherwise')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Also ask the provider whether each stored token is still accepted')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;token' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('--min-ttl', '--min-ttl', [CompletionResultType]::ParameterName, 'Refresh first unless the token stays valid at least this many seconds')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON with the token, its type and expiry instead of the bare token')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;refresh' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;rotate' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('--client-secret-stdin', '--client-secret-stdin', [CompletionResultType]::ParameterName, 'Client-credentials profiles: read the new client secret from stdin')
            [CompletionResult]::new('--no-open', '--no-open', [CompletionResultType]::ParameterName, 'Do not open a browser if an interactive sign-in is needed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;logout' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Sign out of every profile')
            [CompletionResult]::new('--orphans', '--orphans', [CompletionResultType]::ParameterName, 'Revoke and delete the credentials in the store that no profile of this configuration owns (left by a deleted config, another --config-dir, or an older vouch)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;exec' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Environment variable that receives the token')
            [CompletionResult]::new('--min-ttl', '--min-ttl', [CompletionResultType]::ParameterName, 'Refresh first unless the token stays valid at least this many seconds')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;api' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('-X', '-X ', [CompletionResultType]::ParameterName, 'HTTP method')
            [CompletionResult]::new('--method', '--method', [CompletionResultType]::ParameterName, 'HTTP method')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'A request header, ''Name: value''; repeatable (never Authorization or DPoP)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'A request header, ''Name: value''; repeatable (never Authorization or DPoP)')
            [CompletionResult]::new('--data', '--data', [CompletionResultType]::ParameterName, 'Request body: @FILE, - for stdin, or the text itself [Content-Type default: application/json]')
            [CompletionResult]::new('--min-ttl', '--min-ttl', [CompletionResultType]::ParameterName, 'Refresh first unless the token stays valid at least this many seconds')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Print the status line and the response headers before the body')
            [CompletionResult]::new('--include', '--include', [CompletionResultType]::ParameterName, 'Print the status line and the response headers before the body')
            [CompletionResult]::new('--paginate', '--paginate', [CompletionResultType]::ParameterName, 'Follow `Link: <...>; rel="next"` (GET only), printing each page''s body in turn')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;git-credential' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;setup-git' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Host to serve: HOST[:PORT][/PATH] over https, or http://HOST:PORT for loopback')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile that answers for the host [default: $VOUCH_PROFILE, or the only profile]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('--global', '--global', [CompletionResultType]::ParameterName, 'Write git''s global configuration (the default)')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Write the current repository''s configuration')
            [CompletionResult]::new('--remove', '--remove', [CompletionResultType]::ParameterName, 'Undo: remove the host from the profile and vouch from git''s configuration')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;doctor' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON: {"checks": [{"name", "status", "detail", "remedy"}...], "exit_code"}')
            [CompletionResult]::new('--online', '--online', [CompletionResultType]::ParameterName, 'Also ask each profile''s provider: reachability, discovery, and clock skew (HTTP Date)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;kube-credential' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;setup-kube' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context that should authenticate through vouch')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile whose tokens kubectl gets [default: $VOUCH_PROFILE, or the only profile]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'The kubeconfig to edit [default: $KUBECONFIG''s first file, else ~/.kube/config]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('--remove', '--remove', [CompletionResultType]::ParameterName, 'Undo: the context no longer uses vouch''s user, which goes once no context does')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;cargo-credential' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('--cargo-plugin', '--cargo-plugin', [CompletionResultType]::ParameterName, 'Added by cargo to every credential provider it runs')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;setup-cargo' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'The registry''s name in cargo''s configuration ([registries.NAME])')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile whose tokens cargo gets [default: $VOUCH_PROFILE, or the only profile]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('--remove', '--remove', [CompletionResultType]::ParameterName, 'Undo: remove vouch as the registry''s credential provider')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;docker-credential' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;setup-docker' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'The registry, as docker names it: its host, with :PORT when it has one')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile whose tokens docker gets [default: $VOUCH_PROFILE, or the only profile]')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'The username the registry expects with the token (oauth2, <token>, an account name) [default: oauth2]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('--remove', '--remove', [CompletionResultType]::ParameterName, 'Undo: remove vouch from the registry''s credHelpers and the host from the profile')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;completions' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Credential store: auto, secret-service, keyutils (until reboot), keychain, windows')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log operations, endpoints and status codes to stderr (never secrets)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vouch;help' {
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Sign in and store the credential once the provider has confirmed it')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show whether profiles are signed in (offline unless --verify)')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print a profile''s access token to stdout')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Renew the access token now with the refresh token (or the client secret)')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Replace the long-lived credential with a fresh one, never losing a working one')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Revoke and delete a profile''s stored credential (keeps its settings)')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command with a fresh access token in its environment (never in its arguments)')
            [CompletionResult]::new('api', 'api', [CompletionResultType]::ParameterValue, 'Call an API with a profile''s token (Bearer, or DPoP with a proof); the body on stdout')
            [CompletionResult]::new('git-credential', 'git-credential', [CompletionResultType]::ParameterValue, 'git credential helper: `get`, `store` and `erase` on stdin/stdout (gitcredentials(7))')
            [CompletionResult]::new('setup-git', 'setup-git', [CompletionResultType]::ParameterValue, 'Make git use vouch for a host (credential.https://HOST.helper)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Tell why vouch cannot work here, and what to do (offline unless --online)')
            [CompletionResult]::new('kube-credential', 'kube-credential', [CompletionResultType]::ParameterValue, 'kubectl exec credential plugin: an ExecCredential with a fresh token on stdout')
            [CompletionResult]::new('setup-kube', 'setup-kube', [CompletionResultType]::ParameterValue, 'Make a kubeconfig context authenticate through vouch (an exec user)')
            [CompletionResult]::new('cargo-credential', 'cargo-credential', [CompletionResultType]::ParameterValue, 'cargo credential provider: cargo''s JSON protocol on stdin/stdout')
            [CompletionResult]::new('setup-cargo', 'setup-cargo', [CompletionResultType]::ParameterValue, 'Make cargo get a registry''s token from vouch (registries.NAME.credential-provider)')
            [CompletionResult]::new('docker-credential', 'docker-credential', [CompletionResultType]::ParameterValue, 'docker credential helper: get, store, erase, list, version (docker-credential-helpers)')
            [CompletionResult]::new('setup-docker', 'setup-docker', [CompletionResultType]::ParameterValue, 'Make docker get a registry''s token from vouch (credHelpers in ~/.docker/config.json)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'vouch;help;login' {
            break
        }
        'vouch;help;status' {
            break
        }
        'vouch;help;token' {
            break
        }
        'vouch;help;refresh' {
            break
        }
        'vouch;help;rotate' {
            break
        }
        'vouch;help;logout' {
            break
        }
        'vouch;help;exec' {
            break
        }
        'vouch;help;api' {
            break
        }
        'vouch;help;git-credential' {
            break
        }
        'vouch;help;setup-git' {
            break
        }
        'vouch;help;doctor' {
            break
        }
        'vouch;help;kube-credential' {
            break
        }
        'vouch;help;setup-kube' {
            break
        }
        'vouch;help;cargo-credential' {
            break
        }
        'vouch;help;setup-cargo' {
            break
        }
        'vouch;help;docker-credential' {
            break
        }
        'vouch;help;setup-docker' {
            break
        }
        'vouch;help;completions' {
            break
        }
        'vouch;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
