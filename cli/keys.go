package cli

import (
	"github.com/spf13/cobra"

	"github.com/signoff-app/signoff/mailer"
)

// keysCommand is `signoff keys generate`: a fresh links.keys pair.
func (a *app) keysCommand() *cobra.Command {
	generate := &cobra.Command{
		Use:   "generate",
		Short: "Print a fresh HASHHEX:BLOCKHEX pair for links.keys",
		Long: `Generate prints a new key pair for signing and encrypting email links.
To rotate, put the new pair first in links.keys (SIGNOFF_LINKS_KEYS, pairs
separated by commas) and keep the old pair after it until links.ttl has
passed; then drop the old pair.`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			pair := mailer.GenerateKeyPair()
			return a.print(struct {
				Pair string `json:"pair"`
			}{pair}, "%s", pair)
		}),
	}
	keys := group("keys", "Manage the keys of email links", generate)
	// Generating a key needs no configuration, and must work while the
	// email settings are still incomplete (they need the key).
	keys.PersistentPreRunE = func(*cobra.Command, []string) error { return nil }
	return keys
}
