<?php
// A SIMRS-side client written from the E-Klaim manual (section III, "ENKRIPSI / DEKRIPSI"): mc_encrypt,
// mc_decrypt and mc_compare as printed there, plus the manual's way of stripping the response armour.
// (The manual's listing has typos - `OPENSSSL_RAW_DATA`, a missing `return` - which are written correctly here.)
// The transport is PHP's http stream wrapper instead of curl, which is not installed in the test image.
//
//   php eklaim_manual_client.php encrypt KEY   < plaintext    prints the payload
//   php eklaim_manual_client.php decrypt KEY   < payload      prints the plaintext
//   php eklaim_manual_client.php call URL KEY  < request.json POSTs, prints the decrypted answer JSON

function mc_encrypt($data, $key) {
    $key = hex2bin($key);
    if (mb_strlen($key, "8bit") !== 32) {
        throw new Exception("Needs a 256-bit key!");
    }
    $iv_size = openssl_cipher_iv_length("aes-256-cbc");
    $iv = random_bytes($iv_size);
    $encrypted = openssl_encrypt($data, "aes-256-cbc", $key, OPENSSL_RAW_DATA, $iv);
    $signature = mb_substr(hash_hmac("sha256", $encrypted, $key, true), 0, 10, "8bit");
    $encoded = chunk_split(base64_encode($signature . $iv . $encrypted));
    return $encoded;
}

function mc_decrypt($str, $strkey) {
    $key = hex2bin($strkey);
    if (mb_strlen($key, "8bit") !== 32) {
        throw new Exception("Needs a 256-bit key!");
    }
    $iv_size = openssl_cipher_iv_length("aes-256-cbc");
    $decoded = base64_decode($str);
    $signature = mb_substr($decoded, 0, 10, "8bit");
    $iv = mb_substr($decoded, 10, $iv_size, "8bit");
    $encrypted = mb_substr($decoded, $iv_size + 10, NULL, "8bit");
    $calc_signature = mb_substr(hash_hmac("sha256", $encrypted, $key, true), 0, 10, "8bit");
    if (!mc_compare($signature, $calc_signature)) {
        return "SIGNATURE_NOT_MATCH";
    }
    $decrypted = openssl_decrypt($encrypted, "aes-256-cbc", $key, OPENSSL_RAW_DATA, $iv);
    return $decrypted;
}

function mc_compare($a, $b) {
    if (strlen($a) !== strlen($b)) return false;
    $result = 0;
    for ($i = 0; $i < strlen($a); $i++) {
        $result |= ord($a[$i]) ^ ord($b[$i]);
    }
    return $result == 0;
}

function call_ws($url, $key, $request) {
    $payload = mc_encrypt($request, $key);
    $context = stream_context_create(["http" => [
        "method" => "POST",
        "header" => "Content-Type: application/x-www-form-urlencoded\r\n",
        "content" => $payload,
    ]]);
    $response = file_get_contents($url, false, $context);
    // the manual: remove "----BEGIN ENCRYPTED DATA----\r\n" and "----END ENCRYPTED DATA----\r\n"
    $first = strpos($response, "\n") + 1;
    $last = strrpos($response, "\n") - 1;
    $response = substr($response, $first, strlen($response) - $first - $last);
    return mc_decrypt($response, $key);
}

$mode = $argv[1];
$input = stream_get_contents(STDIN);
if ($mode === "encrypt") {
    echo mc_encrypt($input, $argv[2]);
} elseif ($mode === "decrypt") {
    echo mc_decrypt($input, $argv[2]);
} elseif ($mode === "call") {
    echo call_ws($argv[2], $argv[3], $input);
} else {
    fwrite(STDERR, "unknown mode\n");
    exit(2);
}
